"""The first process of a pooled lesson server, run inside its container (standard library only).

``python3 pool_entry.py`` waits for a learner: it imports the single-user server's modules (so
the server starts fast once claimed), makes a private FIFO and prints :data:`READY`. It opens no
network port and holds no token, user name or OAuth client: until the hub claims the container
there is nothing in it to log in to and nobody's home (its home folder is an empty, read-only
slot folder of the hub).

``python3 pool_entry.py --hand-over`` is what the hub runs through ``docker exec`` when a
learner claims the container, after it has mounted the learner's home over the home folder: it
reads ``{"env": {...}, "argv": [...], "cwd": "..."}`` from its standard input and passes it
through the FIFO to the waiting process, which then runs the server with that environment
(the learner's ``JUPYTERHUB_*`` identity, API token and OAuth client) in the learner's home.
The identity travels only through the exec's standard input and the FIFO: never through a file,
the image or the network. The FIFO is removed once read: a container is claimed once.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time

CLAIM_DIR = "/tmp/lms-pool"
CLAIM_FIFO = f"{CLAIM_DIR}/claim"
READY = "lms-pool: ready"
MAX_CLAIM = 1 << 20
# imported while waiting. jupyterhub.singleuser picks its app from these variables when it is
# imported: a claim that sets them starts the server in a new process instead
PRELOAD = (
    "tornado.web",
    "jupyter_server.serverapp",
    "jupyterlab.labapp",
    "jupyter_server_terminals",
    "jupyterhub.singleuser",
    "lms_extension.server",
)
IMPORT_TIME_SETTINGS = ("JUPYTERHUB_SINGLEUSER_APP", "JUPYTERHUB_SINGLEUSER_EXTENSION",
                        "JUPYTERHUB_SINGLEUSER_LOAD_OTHER_EXTENSIONS")


def _leave(signum, frame):  # as PID 1, a signal without a handler would be ignored
    os._exit(0)


def wait_for_claim() -> dict:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _leave)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # the server reports real problems when it starts
            print(f"lms-pool: cannot preload {name}: {exc}", file=sys.stderr, flush=True)
    os.makedirs(CLAIM_DIR, mode=0o700, exist_ok=True)
    os.mkfifo(CLAIM_FIFO, 0o600)
    print(READY, flush=True)
    with open(CLAIM_FIFO, "rb") as fifo:
        data = fifo.read(MAX_CLAIM)
    os.unlink(CLAIM_FIFO)
    os.rmdir(CLAIM_DIR)
    claim = json.loads(data)
    if not (isinstance(claim.get("env"), dict) and isinstance(claim.get("argv"), list)
            and claim["argv"] and isinstance(claim.get("cwd"), str)):
        raise SystemExit("lms-pool: malformed claim")
    return claim


def serve(claim: dict) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    os.environ.update({str(k): str(v) for k, v in claim["env"].items()})
    # the learner's home is mounted over the home folder now: enter it anew
    os.chdir(claim["cwd"])
    argv = [str(a) for a in claim["argv"]]
    print(f"lms-pool: claimed, starting {argv[0]}", flush=True)
    preloaded = not any(os.environ.get(name) for name in IMPORT_TIME_SETTINGS)
    if os.path.basename(argv[0]) == "jupyterhub-singleuser" and preloaded:
        sys.argv = argv
        from jupyterhub.singleuser import main  # noqa: PLC0415 (imported while waiting)

        sys.exit(main())
    os.execvpe(argv[0], argv, os.environ)


def hand_over() -> int:
    data = sys.stdin.buffer.read(MAX_CLAIM)
    deadline = time.monotonic() + 60
    while not os.path.exists(CLAIM_FIFO):  # still importing
        if time.monotonic() > deadline:
            print("lms-pool: the pooled server is not waiting for a claim", file=sys.stderr)
            return 1
        time.sleep(0.02)
    with open(CLAIM_FIFO, "wb") as fifo:
        fifo.write(data)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--hand-over"]:
        sys.exit(hand_over())
    serve(wait_for_claim())
