"""The labextension's own checks: its unit tests (Node's test runner on the course logic and the
event batcher) and its texts, every one of which has a Korean translation."""

from __future__ import annotations

import json
import re
import subprocess

from ..hubctl import ROOT

LAB = ROOT / "lms_extension" / "lab"
KOREAN = ROOT / "lms_extension" / "locale" / "ko_KR" / "LC_MESSAGES" / "lms_course.json"
# trans.__('...') with the text in single quotes, possibly on the next line
MSGID = re.compile(r"trans\.__\(\s*'((?:[^'\\]|\\.)*)'", re.S)


def test_frontend_unit_tests_pass():
    out = subprocess.run(["npm", "test"], cwd=LAB, capture_output=True, text=True, timeout=300)
    summary = re.search(r"^# pass (\d+)\n# fail (\d+)", out.stdout, re.M)
    assert out.returncode == 0 and summary, out.stdout[-3000:] + out.stderr[-2000:]
    passed, failed = map(int, summary.groups())
    assert failed == 0 and passed >= 10, out.stdout[-3000:]


def test_every_text_of_the_labextension_has_a_korean_translation():
    texts = set()
    for source in (LAB / "src").glob("*.ts*"):
        texts |= set(MSGID.findall(source.read_text(encoding="utf-8")))
    assert len(texts) > 30
    korean = json.loads(KOREAN.read_text(encoding="utf-8"))
    assert korean[""]["domain"] == "lms_course"
    missing = sorted(t for t in texts if t not in korean)
    assert not missing, missing
    for text in texts:
        (translation,) = korean[text]
        # the placeholders survive translation
        assert sorted(re.findall(r"%\d", translation)) == sorted(re.findall(r"%\d", text)), text


def test_both_halves_carry_the_package_version():
    """The version handshake compares these: a release changes them together."""
    from lms_extension import __version__

    tokens = (LAB / "src" / "tokens.ts").read_text(encoding="utf-8")
    (frontend,) = re.findall(r"EXTENSION_VERSION = '([^']+)'", tokens)
    package = json.loads((LAB / "package.json").read_text(encoding="utf-8"))["version"]
    assert frontend == package == __version__
