"""Slack's HTTP mode: Bolt's aiohttp routes behind a gate that only lets Slack's requests in.

The gate checks Slack's signature over the raw bytes before anything parses them, so junk
from the internet is a 401 and one WARNING a minute, never a traceback; a signed body Bolt
could not read is a 400; a signed request seen before (a replay) is acked and dropped.
Bolt's own signature check still runs behind it.

It also repairs how Bolt reads a form body: Bolt takes any form body that mentions the word
"payload" anywhere for an interaction payload (`slack_bolt.request.internals.parse_body`). A
slash command whose text says it ("/awsquiz answer the Lambda payload limit is 6 MB") would
then arrive with no fields at all, no listener would match, and Slack would show the member
an error. Here such a body is read as the plain form it is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

JSON_CONTENT_TYPE: Final = "application/json"
SIGNATURE_HEADER: Final = "X-Slack-Signature"
TIMESTAMP_HEADER: Final = "X-Slack-Request-Timestamp"
SIGNATURE_VERSION: Final = "v0"
MAX_AGE_SECONDS: Final = 300
"""How far a request's timestamp may be from now: Slack's window, and Bolt's."""
MAX_TIMESTAMP_DIGITS: Final = 12
REMEMBERED_SIGNATURES: Final = 50_000
"""Replay memory's bound, about 12 MB when full: 5 minutes' worth at 160 requests a second."""
WARNING_INTERVAL_SECONDS: Final = 60.0
"""At most one WARNING about refused requests this often; the rest are counted into it."""

Clock = Callable[[], float]
"""Seconds since the epoch: Slack's timestamps are wall-clock time."""

log = logging.getLogger(__name__)


class MalformedBodyError(ValueError):
    """A signed body that is not what Slack sends: not UTF-8, not JSON, not an object."""


class RecentSignatures:
    """The signatures of requests let in, each kept while its timestamp is still accepted.

    A request's signature covers its timestamp and body, so a second request with the same
    signature is the same request sent again. The memory is this process's own: behind a load
    balancer, a replay that reaches another process is not recognised there.
    """

    def __init__(self, capacity: int = REMEMBERED_SIGNATURES, now: Clock = time.time) -> None:
        self.capacity = capacity
        self._now = now
        self._expiries: OrderedDict[str, float] = OrderedDict()

    def first_time(self, signature: str, timestamp: int) -> bool:
        """Remember `signature`; False if it was already remembered."""
        now = self._now()
        # Requests arrive in about their timestamps' order: the oldest entries come first.
        while self._expiries and next(iter(self._expiries.values())) < now:
            self._expiries.popitem(last=False)
        if signature in self._expiries:
            return False
        if len(self._expiries) >= self.capacity:
            # Only Slack can sign new requests, so only a real flood of them evicts early.
            self._expiries.popitem(last=False)
        self._expiries[signature] = timestamp + MAX_AGE_SECONDS
        return True

    def __len__(self) -> int:
        return len(self._expiries)


class RefusalLog:
    """Logs refused requests at most once per interval, with a count of those left unsaid."""

    def __init__(self, interval: float = WARNING_INTERVAL_SECONDS, now: Clock = time.time) -> None:
        self.interval = interval
        self._now = now
        self._last: float | None = None
        self._unsaid: Counter[str] = Counter()

    def refused(self, request: web.Request, status: int, reason: str) -> None:
        """Note one refused request; a WARNING when none was logged within the interval."""
        now = self._now()
        if self._last is not None and now - self._last < self.interval:
            self._unsaid[reason] += 1
            return
        self._last = now
        since = ""
        if self._unsaid:
            counts = ", ".join(f"{count} {why}" for why, count in self._unsaid.most_common())
            since = f"; {self._unsaid.total()} more since the last warning ({counts})"
            self._unsaid.clear()
        log.warning(
            "slack %s from %s refused with %d: %s%s",
            request.path,
            request.remote,
            status,
            reason,
            since,
        )


class SignatureCheck:
    """Slack's request signature: HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the secret."""

    def __init__(self, signing_secret: str, now: Clock = time.time) -> None:
        if not signing_secret:
            raise ValueError("Slack's HTTP mode needs the signing secret (SLACK_SIGNING_SECRET)")
        self._key = signing_secret.encode()
        self._now = now

    def timestamp_problem(self, timestamp: str) -> str | None:
        """Why a timestamp header is refused (not a number, too old or too new), or None."""
        if (
            not (timestamp.isascii() and timestamp.isdigit())
            or len(timestamp) > MAX_TIMESTAMP_DIGITS
        ):
            return "a timestamp that is not a number"
        if abs(self._now() - int(timestamp)) > MAX_AGE_SECONDS:
            return "a timestamp outside the 5-minute window"
        return None

    def matches(self, timestamp: str, signature: str, body: bytes) -> bool:
        """True when `signature` signs exactly these bytes at `timestamp` (in constant time)."""
        signed = b":".join((SIGNATURE_VERSION.encode(), timestamp.encode(), body))
        expected = f"{SIGNATURE_VERSION}={hmac.new(self._key, signed, hashlib.sha256).hexdigest()}"
        # Header text may hold any character: compare bytes, which compare_digest always takes.
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


class SlackRequestGate:
    """The POST handler for Slack's requests: verify, drop replays, parse once, then Bolt."""

    def __init__(
        self,
        app: AsyncApp,
        signing_secret: str,
        *,
        now: Clock = time.time,
        warning_interval: float = WARNING_INTERVAL_SECONDS,
    ) -> None:
        self.app = app
        self.signatures = SignatureCheck(signing_secret, now)
        self.seen = RecentSignatures(now=now)
        self.refusals = RefusalLog(warning_interval, now)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one request to the events path."""
        timestamps = request.headers.getall(TIMESTAMP_HEADER, [])
        signatures = request.headers.getall(SIGNATURE_HEADER, [])
        if len(timestamps) != 1 or len(signatures) != 1:
            # Bolt reads the last of repeated headers, this gate the first: allow one of each.
            return self._refuse(request, 401, "no signature, or more than one")
        timestamp, signature = timestamps[0], signatures[0]
        problem = self.signatures.timestamp_problem(timestamp)
        if problem is not None:
            return self._refuse(request, 401, problem)
        raw = await request.read()
        if not self.signatures.matches(timestamp, signature, raw):
            return self._refuse(request, 401, "a bad signature")
        # Slack signs each retry of an event anew (X-Slack-Retry-Num, a new timestamp): retries
        # pass here, and SlackHandlers.drop_retried_events drops them by their event id.
        if not self.seen.first_time(signature, int(timestamp)):
            # Acked, so a sender that is Slack does not retry it; it runs only the first time.
            self.refusals.refused(request, 200, "a replayed signature")
            return web.Response(status=200)
        try:
            bolt = bolt_request(raw, request)
        except MalformedBodyError as error:
            return self._refuse(request, 400, str(error))
        return await to_aiohttp_response(await self.app.async_dispatch(bolt))

    def _refuse(self, request: web.Request, status: int, reason: str) -> web.Response:
        self.refusals.refused(request, status, reason)
        return web.json_response({"error": "invalid request"}, status=status)


def bolt_request(raw: bytes, request: web.Request) -> AsyncBoltRequest:
    """The Bolt request for a verified body, parsed once here (MalformedBodyError if it is not
    a body Slack sends) with a form body read as a form."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBodyError("a body that is not UTF-8") from None
    translated = AsyncBoltRequest(
        body="",
        query=request.query_string,
        headers=request.headers,  # type: ignore[arg-type]  # a multidict of str, as Bolt reads
    )
    body = parsed_body(text, translated.content_type)
    try:
        context = build_async_context(AsyncBoltContext({}), body)
    except (AttributeError, IndexError, KeyError, TypeError):
        # Bolt reads ids out of the body assuming Slack's shapes ("team": {"id": ...}).
        raise MalformedBodyError("a body whose fields are not shaped as Slack's") from None
    translated.raw_body, translated.body, translated.context = text, body, context
    return translated


def parsed_body(text: str, content_type: str | None) -> dict[str, Any]:
    """A body as Bolt reads it: JSON (Events API), a form (commands) or a form's `payload`
    field (interactions); MalformedBodyError unless it comes to an object."""
    if not text:
        raise MalformedBodyError("an empty body")
    if content_type == JSON_CONTENT_TYPE or text.startswith("{"):
        return _json_object(text, "a JSON body")
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in fields:
        return _json_object(fields["payload"], "an interaction payload")
    return fields  # a command, or a form that only mentions the word "payload"


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedBodyError(f"{what} that is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedBodyError(f"{what} that is not a JSON object")
    return value


def signing_secret_of(app: AsyncApp) -> str:
    """The signing secret Bolt verifies requests with.

    Bolt offers no public accessor; reading its own copy means the gate and Bolt's check use
    one secret and can never disagree.
    """
    return app._signing_secret


def web_app(
    app: AsyncApp,
    path: str,
    gate: SlackRequestGate | None = None,
    *,
    extra_routes: Iterable[web.AbstractRouteDef] = (),
) -> web.Application:
    """An aiohttp application that serves `app` at `path` behind `gate` (by default, one with
    the app's signing secret), its OAuth pages if it has any, and `extra_routes` (the
    operators' health, readiness and metrics, which are not Slack's and are not signed)."""
    application = web.Application()
    application.add_routes(
        [web.post(path, (gate or SlackRequestGate(app, signing_secret_of(app))).handle)]
    )
    application.add_routes(extra_routes)
    flow = app.oauth_flow
    if flow is not None:
        # A browser, not Slack, opens the install and redirect pages: they are not signed, and
        # Bolt's own server answers them.
        pages = AsyncSlackAppServer(port=0, path=path, app=app)
        application.add_routes(
            [
                web.get(flow.install_path, pages.handle_get_requests),
                web.get(flow.redirect_uri_path, pages.handle_get_requests),
            ]
        )
    return application
