"""A port squatter, started from a learner's kernel the way a hostile learner would: a process of
its own that keeps trying to bind the hub's, the proxy's and the LMS service's ports while they
are free (e.g. during a hub restart) and records every request that reaches it."""

from __future__ import annotations

import json

from .kernel import Kernel

REPORT = "/tmp/squat-report.json"

# runs in the learner's container as a detached process of the learner's kernel
SQUATTER = r'''
import json, socket, sys, threading, time
targets = [tuple(t) for t in json.loads(sys.argv[1])]
deadline = time.time() + float(sys.argv[2])
report = {"bound": [], "refused": {}, "captured": [], "done": False}
lock = threading.Lock()

def save():
    with lock:
        with open(sys.argv[3] + ".tmp", "w") as f:
            json.dump(report, f)
        import os
        os.replace(sys.argv[3] + ".tmp", sys.argv[3])

def serve(sock):
    sock.settimeout(0.3)
    while time.time() < deadline:
        try:
            conn, _ = sock.accept()
        except OSError:
            continue
        conn.settimeout(2)
        try:
            data = conn.recv(65536).decode("latin-1")
        except OSError:
            data = ""
        with lock:
            report["captured"].append(data)
        conn.close()
        save()

while time.time() < deadline:
    for host, port in targets:
        key = f"{host}:{port}"
        if key in report["bound"]:
            continue
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(16)
        except OSError as exc:
            report["refused"][key] = exc.strerror
            sock.close()
            continue
        report["bound"].append(key)
        threading.Thread(target=serve, args=(sock,), daemon=True).start()
    save()
    time.sleep(0.05)
report["done"] = True
save()
'''


def start_squatter(kernel: Kernel, targets: list[tuple[str, int]], seconds: float) -> None:
    """Start the squatter as a detached process of the kernel's container, for ``seconds``."""
    code = (
        "import json, subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {SQUATTER!r}, "
        f"{json.dumps([list(t) for t in targets])!r}, {str(seconds)!r}, {REPORT!r}], "
        "start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print('started')"
    )
    result = kernel.run(code, timeout=60)
    assert result.stdout.strip() == "started", result


def squat_report(kernel: Kernel) -> dict:
    result = kernel.run(f"print(open({REPORT!r}).read())", timeout=60)
    assert result.status == "ok", result
    return json.loads(result.stdout)
