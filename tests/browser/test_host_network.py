"""Chromium beside the Docker engine keeps its requests while a container starts and stops
(:mod:`tests.browser.host_network`, set for the whole run by the tests' ``conftest``).

Without it, the container's host-side interface gets an IPv6 link-local address as it starts
and loses it as it stops. Chromium takes that for a network change and fails every request
still waiting for a connection (beyond its six per host) with ``net::ERR_NETWORK_CHANGED``: a
JupyterLab page loading from a busy server meanwhile shows "Error Loading Theme", or loses an
API call, and never finishes."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..conftest import docker

PAGE = b"<!doctype html><title>host network</title><p>loaded</p>"
REQUESTS = 8  # more than Chromium's six connections per host: two wait for a connection


class SlowServer(ThreadingHTTPServer):
    """Serves ``/`` at once and answers ``/slow`` only once ``release`` is set."""

    daemon_threads = True

    def __init__(self):
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), SlowHandler)


class SlowHandler(BaseHTTPRequestHandler):
    server: SlowServer

    def do_GET(self):  # noqa: N802 - the http.server hook
        body = PAGE
        if self.path.startswith("/slow"):
            self.server.arrived.release()
            self.server.release.wait(60)
            body = b"answered"
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if body is PAGE else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_loading_pages_requests_survive_a_container_starting_and_stopping(docker_engine,
                                                                            browser, run_id):
    network = f"lms-test-{run_id}-hostnet"
    container = f"{network}-sleeper"
    server = SlowServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    docker("network", "create", network)  # before the page: a new bridge is a new address
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"http://learner.localhost:{server.server_address[1]}/")
        page.evaluate("""requests => { window.slow = Promise.all(Array.from({length: requests},
            (_, n) => fetch("/slow?" + n).then(r => r.text(), e => "failed: " + e))); }""",
                      REQUESTS)
        for _ in range(6):  # Chromium's connections to this host, all busy
            assert server.arrived.acquire(timeout=10), "the page's requests did not arrive"
        # another learner's server starts and stops while they wait for their answers
        docker("run", "-d", "--rm", "--name", container, "--network", network,
               "lms/base:latest", "sleep", "30")
        docker("exec", container, "sleep", "2")  # up long enough for its addresses to settle
        docker("rm", "-f", container)
        server.release.set()
        answers = page.evaluate("window.slow")
        assert answers == ["answered"] * REQUESTS, answers
    finally:
        server.release.set()
        context.close()
        docker("rm", "-f", container, check=False)
        docker("network", "rm", network, check=False)
        server.shutdown()
