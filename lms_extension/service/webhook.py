"""The content push webhook, ``POST api/content/webhook``, signed like GitHub's.

It is the one route without a hub token, so it refuses early and cheaply: the body is read only
up to ``LmsService.webhook_max_body_bytes`` (413 beyond, before any of it is hashed), any
signature that is not exactly ``sha256=<64 hex digits>`` and right gets 401, and an accepted
delivery is remembered in the database, so that the same delivery id or the same signed body is
refused (409) when it comes again.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from sqlalchemy.exc import IntegrityError
from tornado import web

from .db import WebhookDelivery

SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}", re.ASCII)
DELIVERY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)


@web.stream_request_body
class WebhookHandler(web.RequestHandler):
    """Checks the signature (``X-Hub-Signature-256``) and the delivery id
    (``X-GitHub-Delivery``), then syncs the content (one sync at a time, see
    :meth:`LmsService.sync_content`)."""

    @property
    def service(self):
        return self.settings["lms"]

    def check_xsrf_cookie(self):
        """Authenticated by the HMAC signature of the body, not by cookies."""

    def _too_large(self) -> web.HTTPError:
        limit = self.service.webhook_max_body_bytes
        return web.HTTPError(413, f"the body is larger than {limit} bytes "
                                  "(LmsService.webhook_max_body_bytes)")

    def prepare(self):
        self._chunks: list[bytes] = []
        self._size = 0
        length = self.request.headers.get("Content-Length")
        if length is not None:
            # the connection reads no more than this: a longer body is never read
            self.request.connection.set_max_body_size(self.service.webhook_max_body_bytes)
        if not self.service.webhook_secret:
            raise web.HTTPError(403, "the webhook is off (no LmsService.webhook_secret)")
        if length is not None:
            if not length.isdigit():
                raise web.HTTPError(400, "Content-Length: not a whole number")
            if int(length) > self.service.webhook_max_body_bytes:
                raise self._too_large()

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        self._size += len(chunk)
        if self._size > self.service.webhook_max_body_bytes:
            # a chunked body grew past the limit: answer now; the connection is then closed
            self._chunks.clear()
            error = self._too_large()
            self.send_error(413, exc_info=(type(error), error, None))
            return
        self._chunks.append(chunk)

    def write_error(self, status_code, **kwargs):
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            reason = exc.log_message % exc.args if exc.args else exc.log_message
        self.set_header("Content-Type", "application/json")
        self.finish({"status": status_code, "message": reason})

    def _signature(self, body: bytes) -> str:
        given = self.request.headers.get("X-Hub-Signature-256", "")
        if not SIGNATURE.fullmatch(given):
            raise web.HTTPError(401, "X-Hub-Signature-256: missing or not sha256=<64 hex digits>")
        expected = hmac.new(self.service.webhook_secret.encode(), body, hashlib.sha256)
        if not hmac.compare_digest(given.encode("ascii"), b"sha256=" + expected.hexdigest().encode()):
            raise web.HTTPError(401, "X-Hub-Signature-256: wrong signature")
        return given[len("sha256="):]

    async def _remember(self, delivery: str, signature: str) -> None:
        now = self.service.utcnow()

        def insert(session):
            session.add(WebhookDelivery(delivery=delivery, signature=signature, received_at=now))
            session.flush()

        try:
            await self.service.run_db(insert)
        except IntegrityError:
            raise web.HTTPError(409, f"X-GitHub-Delivery: delivery {delivery} (or its body) was "
                                     "already received; a replay is refused") from None

    async def post(self):
        if self._finished:  # refused while the body came in
            return
        signature = self._signature(b"".join(self._chunks))
        delivery = self.request.headers.get("X-GitHub-Delivery", "")
        if not DELIVERY.fullmatch(delivery):
            raise web.HTTPError(400, "X-GitHub-Delivery: missing or not a delivery id "
                                     "(letters, digits, '.', '_', '-'; at most 64)")
        await self._remember(delivery, signature)
        self.service.log.info("content webhook: delivery %s accepted", delivery)
        status = await self.service.sync_content()
        self.set_header("Content-Type", "application/json")
        self.finish(status)
