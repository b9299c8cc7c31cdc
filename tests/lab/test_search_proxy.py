"""The server extension's ``lms/api/search`` in a real Jupyter Server: the query goes to the LMS
service (a real HTTP server here) with the lesson server's token, and the answer comes back,
a 400 naming the parameter included; without a service it says why."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
from tornado import web
from tornado.httpclient import HTTPClientError

from ..hubctl import free_port


class FakeSearch(web.RequestHandler):
    """``GET api/search`` as the LMS service answers it, recording what it was asked."""

    def initialize(self, asked: list):
        self.asked = asked

    def get(self):
        self.asked.append((self.request.headers.get("Authorization"),
                           parse_qs(urlparse(self.request.uri).query)))
        if self.request.headers.get("Authorization") != "token token-a":
            self.set_status(403)
            return self.finish({"status": 403, "message": "not allowed"})
        q = self.get_argument("q", "")
        if not q:
            self.set_status(400)
            return self.finish({"status": 400, "message": "q: enter something",
                                "field": "q"})
        self.finish({"version": "abc", "query": q, "results": [
            {"key": "dl-basics/numpy-basics", "snippet": f"…{q}…"}]})


@pytest.fixture
def search_service():
    port = free_port()
    return port, []


@pytest.fixture
def jp_server_config(lms_env, search_service):
    port, _ = search_service
    return {"ServerApp": {"jpserver_extensions": {"lms_extension": True}},
            "LmsExtensionApp": {"service_url": f"http://127.0.0.1:{port}/services/lms",
                                "token": "token-a"}}


async def test_a_search_goes_to_the_service_with_the_servers_token(jp_fetch, search_service):
    port, asked = search_service
    server = web.Application([(r"/services/lms/api/search", FakeSearch, {"asked": asked})]
                             ).listen(port, "127.0.0.1")
    try:
        r = await jp_fetch("lms", "api", "search", params={"q": "미분 numpy", "limit": "5"})
        assert json.loads(r.body)["results"][0]["snippet"] == "…미분 numpy…"
        assert asked[-1] == ("token token-a", {"q": ["미분 numpy"], "limit": ["5"]})

        with pytest.raises(HTTPClientError) as err:
            await jp_fetch("lms", "api", "search", params={"q": ""})
        assert err.value.code == 400
        assert json.loads(err.value.response.body)["field"] == "q"
    finally:
        server.stop()

    # the service is gone: a 503 that says so
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("lms", "api", "search", params={"q": "numpy"})
    assert err.value.code == 503
    assert "cannot be reached" in json.loads(err.value.response.body)["message"]
