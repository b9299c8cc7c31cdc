"""What the service asks the hub: the members of groups (cohorts), cached briefly. It never
asks about a user by name, so what a caller may not see cannot be probed through it."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError


class HubClient:
    def __init__(self, api_url: str, token: str, cache_seconds: float = 30.0):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, object]] = {}

    async def _get(self, path: str):
        hit = self._cache.get(path)
        if hit and time.monotonic() - hit[0] < self.cache_seconds:
            return hit[1]
        try:
            response = await AsyncHTTPClient().fetch(
                f"{self.api_url}{path}", headers={"Authorization": f"token {self.token}"})
            value = json.loads(response.body)
        except HTTPClientError as exc:
            if exc.code != 404:
                raise
            value = None
        self._cache[path] = (time.monotonic(), value)
        return value

    async def members(self, group: str) -> list[str]:
        model = await self._get(f"/groups/{quote(group, safe='')}")
        return sorted(model["users"]) if model else []

    def forget(self, group: str) -> None:
        """Drop the cached members of ``group`` (after the service changed them)."""
        self._cache.pop(f"/groups/{quote(group, safe='')}", None)

    async def group_exists(self, group: str) -> bool:
        self._cache.pop(f"/groups/{quote(group, safe='')}", None)
        return await self._get(f"/groups/{quote(group, safe='')}") is not None
