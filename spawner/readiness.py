"""Wait for a freshly started single-user server to answer, polling at a short, fixed interval.

JupyterHub's own wait after ``start()`` backs off exponentially (0.2 s, 0.4 s, 0.8 s, …), which
can add most of a second after the server is already up. Waiting here, finely, lets the hub's
first check succeed at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest


async def wait_until_answers(
    url: str,
    *,
    timeout: float,
    interval: float,
    still_running: Callable[[], Awaitable[bool]],
    check_every: float = 1.0,
) -> bool:
    """Poll ``url`` until it answers with any HTTP status; ``False`` on timeout.

    ``still_running`` is asked every ``check_every`` seconds; when it says no, the wait stops
    early with ``False`` so the caller can report why the server died.
    """
    client = AsyncHTTPClient()
    deadline = time.monotonic() + timeout
    next_check = time.monotonic() + check_every
    while time.monotonic() < deadline:
        try:
            await client.fetch(HTTPRequest(url, request_timeout=max(interval * 20, 1.0)))
            return True
        except HTTPClientError as exc:
            if exc.code != 599:
                return True  # any HTTP answer means the server is up
        except OSError:
            pass
        if time.monotonic() >= next_check:
            if not await still_running():
                return False
            next_check = time.monotonic() + check_every
        await asyncio.sleep(interval)
    return False
