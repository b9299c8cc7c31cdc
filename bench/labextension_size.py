"""The JupyterLab extension's bundle size, as browsers download it (gzip).

    .venv/bin/python bench/labextension_size.py

Reads the prebuilt extension in lms_extension/labextension (scripts/build-labextension.sh makes
it) and prints each JavaScript and CSS file's size raw and gzipped (level 6, what web servers
use), and the total. JupyterLab's own packages (React, Lumino, @jupyterlab/*) are shared at run
time, not bundled. Goal: <= 300 KB gzipped.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "lms_extension" / "labextension" / "static"


def main() -> int:
    files = sorted(p for p in STATIC.glob("*") if p.suffix in (".js", ".css"))
    if not files:
        print(f"no bundle in {STATIC}: run scripts/build-labextension.sh", file=sys.stderr)
        return 1
    total_raw = total_gz = 0
    for path in files:
        data = path.read_bytes()
        packed = len(gzip.compress(data, compresslevel=6))
        total_raw += len(data)
        total_gz += packed
        print(f"  {path.name:45} {len(data) / 1024:8.1f} KB  gzip {packed / 1024:7.1f} KB")
    print(f"labextension bundle: {total_raw / 1024:.1f} KB, gzipped {total_gz / 1024:.1f} KB "
          "(goal <= 300 KB gzipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
