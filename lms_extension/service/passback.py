"""Posting queued scores to the school's LMS (LTI Advantage Assignment and Grade Services).

The queue is the ``lti_passbacks`` table (:mod:`.lti_store`). A task of the service takes the
rows that are due, oldest first, one at a time:

1. an access token from the platform's token URL: the OAuth2 client-credentials grant with a
   ``client_assertion`` JWT (RS256, signed with the tool's private key, ``kid`` in its header;
   ``iss`` = ``sub`` = the client id, ``aud`` = the token URL, ``jti``, ``iat``, ``exp``) for
   the scope ``https://purl.imsglobal.org/spec/lti-ags/scope/score``; kept until it expires;
2. ``POST <lineitem>/scores`` (``application/vnd.ims.lis.v1.score+json``) with the learner's LTI
   ``userId``, ``scoreGiven``, ``scoreMaximum``, ``activityProgress``, ``gradingProgress`` and
   the ``timestamp`` of the state.

A 2xx answer marks the row delivered and records its state on the launch, so that state is
never posted again. Anything else (an error status, no answer, no token) counts an attempt: the
row is tried again after ``retry_delay`` seconds, doubled per attempt up to
``max_retry_delay``, and marked failed after ``max_attempts`` attempts; an admin may send a
failed row again from the dashboard. Should the service stop between the platform's 2xx and
the row being marked delivered, the answer was never recorded and the row is posted once more
after the restart (a platform keeps the newest score per learner and line item, so the
gradebook is the same).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import jwt
from sqlalchemy import select
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from traitlets import Float, Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from .progress import as_utc
from .lti_store import DELIVERED, FAILED, PENDING, LtiLaunch, PassbackRow

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def scores_url(lineitem: str) -> str:
    """``<lineitem>/scores``, keeping the line item URL's query (as AGS asks)."""
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


class PassbackError(Exception):
    """An attempt that did not deliver; the message is shown on the dashboard."""


class LtiPassback(LoggingConfigurable):
    """Sends the queued scores to the school's LMS (``c.LtiPassback.*``)."""

    key_path = Unicode(
        help="""The tool's private RSA key (PEM) that signs the ``client_assertion`` of token
        requests; its public key is the one the platform knows from the tool's JWKS URL.
        Default: $LMS_LTI_KEY_PATH. Empty: no scores are sent (launches are still recorded
        and their scores queued).""",
    ).tag(config=True)

    @default("key_path")
    def _default_key_path(self):
        return os.environ.get("LMS_LTI_KEY_PATH", "")

    key_id = Unicode(
        help="The ``kid`` of the tool's key in its JWKS (default: $LMS_LTI_KEY_ID).",
    ).tag(config=True)

    @default("key_id")
    def _default_key_id(self):
        return os.environ.get("LMS_LTI_KEY_ID", "")

    token_url = Unicode(
        help="The platform's OAuth2 access token URL (default: $LMS_LTI_TOKEN_URL).",
    ).tag(config=True)

    @default("token_url")
    def _default_token_url(self):
        return os.environ.get("LMS_LTI_TOKEN_URL", "")

    client_id = Unicode(
        help="""The tool's client id at the platform, or several, comma-separated (default:
        $LMS_LTI_CLIENT_ID). Launches for another client id are refused; each score is asked
        for with the client id of its launch.""",
    ).tag(config=True)

    @default("client_id")
    def _default_client_id(self):
        return os.environ.get("LMS_LTI_CLIENT_ID", "")

    poll_interval = Float(
        help="""Seconds between looks at the queue for scores that are due (default:
        $LMS_LTI_PASSBACK_INTERVAL or 5).""",
    ).tag(config=True)

    @default("poll_interval")
    def _default_poll_interval(self):
        return float(os.environ.get("LMS_LTI_PASSBACK_INTERVAL") or 5)

    retry_delay = Float(
        help="""Seconds before the second attempt at a score the platform did not take;
        doubled for each further attempt (default: $LMS_LTI_RETRY_DELAY or 30).""",
    ).tag(config=True)

    @default("retry_delay")
    def _default_retry_delay(self):
        return float(os.environ.get("LMS_LTI_RETRY_DELAY") or 30)

    max_retry_delay = Float(
        3600.0, help="The longest wait between two attempts at one score, in seconds."
    ).tag(config=True)

    max_attempts = Integer(
        help="""Attempts at one score before it is marked failed (shown to admins on the
        dashboard, who may send it again; default: $LMS_LTI_MAX_ATTEMPTS or 8).""",
    ).tag(config=True)

    @default("max_attempts")
    def _default_max_attempts(self):
        return int(os.environ.get("LMS_LTI_MAX_ATTEMPTS") or 8)

    request_timeout = Float(
        20.0, help="Seconds to wait for the platform's token and scores endpoints."
    ).tag(config=True)

    def __init__(self, service, **kwargs):
        super().__init__(parent=service, **kwargs)
        self.service = service
        self._tokens: dict[str, tuple[str, float]] = {}  # client id -> token, expiry
        self._wake = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return bool(self.key_path and self.token_url and self.client_ids)

    @property
    def client_ids(self) -> set[str]:
        return {c.strip() for c in self.client_id.split(",") if c.strip()}

    def wake(self) -> None:
        """Look at the queue now (called on the event loop)."""
        self._wake.set()

    async def run(self) -> None:
        """The service's passback task: deliver what is due, then wait."""
        if not self.enabled:
            self.log.info("LTI passback is off (LMS_LTI_KEY_PATH, LMS_LTI_TOKEN_URL and "
                          "LMS_LTI_CLIENT_ID are needed)")
            return
        while True:
            try:
                await self.deliver_due()
            except Exception:  # noqa: BLE001 - the task goes on; the next round tries again
                self.log.exception("LTI passback round failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            except TimeoutError:
                pass
            self._wake.clear()

    async def deliver_due(self) -> int:
        """Post every score that is due now; returns how many the platform took."""
        now = self.service.utcnow()
        due = await self.service.run_db(lambda s: list(s.execute(
            select(PassbackRow, LtiLaunch)
            .join(LtiLaunch, LtiLaunch.id == PassbackRow.launch_id)
            .where(PassbackRow.status == PENDING, PassbackRow.next_try_at <= now)
            .order_by(PassbackRow.next_try_at, PassbackRow.id).limit(50)).tuples()))
        delivered = 0
        for row, launch in due:
            delivered += await self.deliver(row, launch)
        return delivered

    async def deliver(self, row: PassbackRow, launch: LtiLaunch) -> bool:
        try:
            await self.post_score(row, launch)
        except PassbackError as exc:
            await self.service.write(lambda s: self._attempt_failed(s, row, str(exc)))
            return False
        await self.service.write(lambda s: self._delivered(s, row))
        return True

    # -- the platform -----------------------------------------------------------------------

    def client_assertion(self, client_id: str) -> str:
        now = int(time.time())
        claims = {"iss": client_id, "sub": client_id, "aud": self.token_url,
                  "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        with open(self.key_path, "rb") as key:
            private = key.read()
        headers = {"kid": self.key_id} if self.key_id else None
        return jwt.encode(claims, private, algorithm="RS256", headers=headers)

    async def access_token(self, client_id: str) -> str:
        cached = self._tokens.get(client_id)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        try:
            assertion = self.client_assertion(client_id)
        except (OSError, ValueError) as exc:
            raise PassbackError(f"the tool's key {self.key_path}: {exc}") from None
        body = urlencode({"grant_type": "client_credentials",
                          "client_assertion_type": ASSERTION_TYPE,
                          "client_assertion": assertion, "scope": SCORE_SCOPE})
        response = await self._fetch(HTTPRequest(
            self.token_url, method="POST", body=body, request_timeout=self.request_timeout,
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Accept": "application/json"}), "token")
        try:
            answer = json.loads(response.body)
            token = answer["access_token"]
            lifetime = float(answer.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise PassbackError("token: the platform's answer holds no access_token") from None
        self._tokens[client_id] = (token, time.monotonic() + max(lifetime - 30, 0))
        return token

    async def post_score(self, row: PassbackRow, launch: LtiLaunch) -> None:
        token = await self.access_token(launch.client_id)
        score = {"userId": launch.sub, "scoreGiven": row.score_given,
                 "scoreMaximum": row.score_maximum, "activityProgress": row.activity_progress,
                 "gradingProgress": row.grading_progress,
                 "timestamp": as_utc(row.timestamp).isoformat()}
        try:
            await self._fetch(HTTPRequest(
                scores_url(launch.lineitem), method="POST", body=json.dumps(score),
                request_timeout=self.request_timeout,
                headers={"Content-Type": SCORE_TYPE, "Authorization": f"Bearer {token}"}),
                "scores")
        except PassbackError as exc:
            if "HTTP 401" in str(exc):  # the platform no longer takes the cached token
                self._tokens.pop(launch.client_id, None)
            raise

    async def _fetch(self, request: HTTPRequest, what: str):
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except Exception as exc:  # noqa: BLE001 - no answer: connection refused, timeout
            raise PassbackError(f"{what}: no answer from {request.url} ({exc})") from None
        if not 200 <= response.code < 300:
            text = (response.body or b"").decode("utf-8", "replace")[:300]
            raise PassbackError(f"{what}: HTTP {response.code} from {request.url}: {text}")
        return response

    # -- the queue --------------------------------------------------------------------------

    def _delivered(self, session, sent: PassbackRow) -> None:
        row = session.get(PassbackRow, sent.id)
        launch = session.get(LtiLaunch, sent.launch_id)
        if launch is not None:
            launch.delivered_key = sent.state_key
        if row is None:
            return
        if row.state_key != sent.state_key:  # a newer state was queued while this one was sent
            return
        row.status = DELIVERED
        row.attempts = (row.attempts or 0) + 1
        row.delivered_at = self.service.utcnow()
        row.last_error = None

    def _attempt_failed(self, session, sent: PassbackRow, error: str) -> None:
        row = session.get(PassbackRow, sent.id)
        if row is None or row.state_key != sent.state_key or row.status != PENDING:
            return  # replaced by a newer state meanwhile: that one gets attempts of its own
        row.attempts = (row.attempts or 0) + 1
        row.last_error = error[:2000]
        self.log.warning("LTI score for %s (%s) not delivered, attempt %d: %s",
                         sent.launch_id, sent.state_key, row.attempts, error)
        if row.attempts >= self.max_attempts:
            row.status = FAILED
            return
        delay = min(self.retry_delay * 2 ** (row.attempts - 1), self.max_retry_delay)
        row.next_try_at = self.service.utcnow() + timedelta(seconds=delay)


def retry_failed(session, passback_id: int, now: datetime) -> PassbackRow | None:
    """An admin sends a failed score again: pending, due now, attempts from zero."""
    row = session.get(PassbackRow, passback_id)
    if row is None or row.status != FAILED:
        return None
    row.status, row.attempts, row.next_try_at = PENDING, 0, now
    return row


