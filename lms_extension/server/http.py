"""One HTTP client for the calls a lesson server makes with its own hub token: to the hub's REST
API (the owner's servers, activity) and to the LMS service (outline, surveys, events)."""

from __future__ import annotations

import json
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse


class TokenClient:
    """``base_url`` + path, with ``Authorization: token <token>`` on every request."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def __bool__(self) -> bool:
        return bool(self.base_url)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(self, path: str, method: str = "GET", body: bytes | str | None = None,
                timeout: float | None = None, **kwargs: Any) -> HTTPRequest:
        headers = {"Authorization": f"token {self.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return HTTPRequest(self.url(path), method=method, body=body, headers=headers,
                           request_timeout=timeout or self.timeout, **kwargs)

    async def fetch(self, path: str, method: str = "GET", body: bytes | str | None = None,
                    timeout: float | None = None, raise_error: bool = True) -> HTTPResponse:
        """The response; raises :class:`HTTPClientError` for an HTTP error unless
        ``raise_error`` is false, and ``OSError`` when the server cannot be reached."""
        return await AsyncHTTPClient().fetch(self.request(path, method, body, timeout),
                                             raise_error=raise_error)

    async def get_json(self, path: str, timeout: float | None = None) -> Any:
        return json.loads((await self.fetch(path, timeout=timeout)).body)

    async def post_json(self, path: str, data: Any, timeout: float | None = None) -> Any:
        response = await self.fetch(path, "POST", json.dumps(data), timeout)
        return json.loads(response.body) if response.body else None


def message_of(exc_or_response: HTTPClientError | HTTPResponse | None, default: str = "") -> str:
    """The ``message`` of a Jupyter-style JSON error answer, else ``default`` or the status."""
    response = getattr(exc_or_response, "response", exc_or_response)
    try:
        message = json.loads(response.body)["message"]
    except (AttributeError, TypeError, ValueError, KeyError):  # no JSON answer
        message = None
    if isinstance(message, str) and message:
        return message
    return default or getattr(response, "reason", "") or f"HTTP {exc_or_response.code}"
