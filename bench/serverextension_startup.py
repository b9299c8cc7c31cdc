"""What the lms_extension server extension adds to a lesson server's start-up.

    .venv/bin/python bench/serverextension_startup.py [--rounds 8] [--image lms/base:latest]

Alternates, in real containers of the lesson image (host networking, 127.0.0.1), a Jupyter
server started with the extension (cloning the demo course from its learner repo into an empty
home with nbgitpuller, as a first start does) and one with the extension switched off, and times
`docker run` to the server's API answering. Prints both medians and the difference. Goal:
<= 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lms_extension.content.learner_repo import publish_course
from tests.hubctl import free_port

OFF = 'c.ServerApp.jpserver_extensions = {"lms_extension": False}\n'


def start_and_time(image: str, extension: bool, config_dir: Path) -> float:
    port = free_port()
    name = f"lms-bench-ext-{port}"
    cmd = ["docker", "run", "--rm", "-d", "--name", name, "--network", "host",
           "-v", f"{ROOT / 'content_repo'}:/srv/lms/content:ro",
           "-v", f"{config_dir}:/etc/lms-bench:ro",
           "-v", f"{config_dir / 'learner'}:/srv/lms/learner:ro",
           "-e", "LMS_LEARNER_REPO=/srv/lms/learner/dl-basics.git",
           "-e", "LMS_COURSE=dl-basics", "-e", "LMS_LESSON=numpy-basics",
           "-e", "LMS_CONTENT_DIR=/srv/lms/content/dl-basics",
           "--entrypoint", "jupyter", image, "server", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--IdentityProvider.token=bench",
           "--ServerApp.open_browser=False"]
    if not extension:
        cmd.append("--config=/etc/lms-bench/off.py")
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    try:
        while time.perf_counter() - started < 60:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/api/status",
                                 headers={"Authorization": "token bench"}, timeout=1)
                if r.status_code == 200:
                    return time.perf_counter() - started
            except requests.ConnectionError:
                pass
            time.sleep(0.01)
        raise RuntimeError("the server did not answer in 60 s")
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--image", default="lms/base:latest")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "off.py").write_text(OFF)
        publish_course(Path(tmp) / "learner", "dl-basics", ROOT / "content_repo" / "dl-basics",
                       "bench")
        start_and_time(args.image, True, Path(tmp))  # warm the page cache
        with_ext, without = [], []
        for number in range(1, args.rounds + 1):
            with_ext.append(start_and_time(args.image, True, Path(tmp)))
            without.append(start_and_time(args.image, False, Path(tmp)))
            print(f"round {number}/{args.rounds}: with {with_ext[-1]:.3f} s, "
                  f"without {without[-1]:.3f} s", flush=True)
    a, b = statistics.median(with_ext), statistics.median(without)
    print(f"\n{args.image}: docker run → Jupyter server API answering, median of {args.rounds}:")
    print(f"  with lms_extension     {a:.3f} s")
    print(f"  without lms_extension  {b:.3f} s")
    print(f"  the extension adds     {(a - b) * 1000:.0f} ms (goal <= 100 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
