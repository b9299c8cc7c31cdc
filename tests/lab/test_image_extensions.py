"""The lesson image has both halves of the extension active with no build step: installing the
package (as images/base does) is enough."""

from __future__ import annotations

import re
import subprocess

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def in_image(command: str) -> str:
    out = subprocess.run(["docker", "run", "--rm", "--network", "none", "lms/base:latest",
                          "sh", "-c", command], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return ANSI.sub("", out.stdout + out.stderr)


def test_labextension_and_server_extension_are_enabled_and_ok(docker_engine):
    labextensions = in_image("jupyter labextension list")
    assert re.search(r"@lms-platform/course v0\.1\.0 enabled OK \(python, lms-platform\)",
                     labextensions), labextensions
    servers = in_image("jupyter server extension list")
    assert re.search(r"lms_extension enabled\s+- Validating lms_extension\.\.\.\s+"
                     r"lms_extension 0\.1\.0 OK", servers), servers
    # no Node.js in the image: the extension came prebuilt
    assert in_image("command -v node || echo none").strip() == "none"
