"""A double of the Discord platform on loopback, for testing the real discord.py code.

`DiscordDouble` is one aiohttp server on 127.0.0.1 (port 0) that plays two parts of Discord:
the REST API (`/api/v10/...`, recorded and answered from a route table, interaction callbacks
and webhooks included) and the gateway (`/gateway`, a websocket that says HELLO, answers
heartbeats, IDENTIFY and RESUME, and dispatches the events a test chooses). `running_client`
points a real `discord.Client` at it; the module-level builders make realistic payloads.

Wiring, for code that builds its own client: set `discord.http.Route.BASE = double.rest_url`
and `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = double.gateway_url` (`pointed_at` does
both and restores them), and build the client with `guild_ready_timeout=0`.
"""

# The waits take `timeout` on purpose (ASYNC109): a double that gives up by itself can say what it
# was waiting for and what it saw instead, which a bare cancellation from outside cannot.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
import discord
import yarl
from aiohttp import web
from discord.gateway import DiscordWebSocket
from discord.http import Route

from doubles.loopback import LoopbackServer

JsonObject = dict[str, Any]
RestHandler = Callable[["RestCall", Mapping[str, str]], "CannedResponse"]

API_VERSION: Final = 10
REST_PREFIX: Final = f"/api/v{API_VERSION}"
GATEWAY_PATH: Final = "/gateway"
JSON_CONTENT_TYPE: Final = "application/json"
DEFAULT_TIMEOUT: Final = 5.0
"""Seconds any wait here gives up after: ample for a slow CI, quick to report a missing call."""

HEARTBEAT_INTERVAL_MS: Final = 45_000
"""Discord's usual interval; long, so a test never sees more than the first heartbeat."""
RESUMABLE_CLOSE_CODE: Final = 4000
"""Discord's "unknown error": discord.py answers it by reconnecting and sending RESUME."""
AUTHENTICATION_FAILED_CLOSE_CODE: Final = 4004
ATTACHMENT_SIZE_LIMIT: Final = 10 * 1024 * 1024
GLOBAL_RATE_LIMIT: Final = 50
"""Discord's global limit: REST requests a bot may make in a second."""
ALREADY_ACKNOWLEDGED: Final = 40060
EXEMPT_FROM_GLOBAL_LIMIT: Final = ("/interactions/", "/webhooks/")

# Snowflakes: Discord ids are (milliseconds since 2015 << 22) | counters. Fixed, readable values.
DISCORD_EPOCH_MS: Final = 1_420_070_400_000
FIRST_GENERATED_MS: Final = 1_740_960_000_000
"""2025-03-03: where the ids the double and the builders generate start."""
APPLICATION_ID: Final = 1_345_000_000_000_000_001
BOT_USER_ID: Final = APPLICATION_ID  # a bot's user id is its application's id
BOT_NAME: Final = "awsquiz"
BOT_TOKEN: Final = "discord-test-token"
GUILD_ID: Final = 1_345_000_000_000_000_100
GUILD_NAME: Final = "AWS Study Group"
CHANNEL_ID: Final = 1_345_000_000_000_000_200
CHANNEL_NAME: Final = "aws-study"
USER_ID: Final = 1_345_000_000_000_000_300
USER_NAME: Final = "alice"
COMMAND_ID: Final = 1_345_000_000_000_000_400
DM_CHANNEL_ID_OFFSET: Final = 1_000_000
"""`dm_channel_id(user) = user + offset`, so a test can predict the DM channel of any user."""

# Permission bits (https://discord.com/developers/docs/topics/permissions), as Discord sends
# them: decimal strings, since the bitfield outgrew 53-bit JSON numbers.
MANAGE_GUILD: Final = 0x20
VIEW_CHANNEL: Final = 0x400
SEND_MESSAGES: Final = 0x800
EMBED_LINKS: Final = 0x4000
READ_MESSAGE_HISTORY: Final = 0x10000
USE_APPLICATION_COMMANDS: Final = 0x80000000
CREATE_PUBLIC_THREADS: Final = 0x800000000
SEND_MESSAGES_IN_THREADS: Final = 0x4000000000
MEMBER_PERMISSIONS: Final = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS
)
"""What a plain member may do in the test channel: no Manage Server."""
BOT_PERMISSIONS: Final = MEMBER_PERMISSIONS | CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS

EPHEMERAL_FLAG: Final = 1 << 6
LOADING_FLAG: Final = 1 << 7

# Gateway opcodes.
OP_DISPATCH: Final = 0
OP_HEARTBEAT: Final = 1
OP_IDENTIFY: Final = 2
OP_RESUME: Final = 6
OP_INVALID_SESSION: Final = 9
OP_HELLO: Final = 10
OP_HEARTBEAT_ACK: Final = 11

# Interaction callback types that create or show a message (the others carry no message).
CALLBACK_CHANNEL_MESSAGE: Final = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE: Final = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE: Final = 6
CALLBACK_UPDATE_MESSAGE: Final = 7
CALLBACK_AUTOCOMPLETE_RESULT: Final = 8
CALLBACK_MODAL: Final = 9


@dataclass(frozen=True)
class RestCall:
    """One REST request the double received. `path` is below `/api/v10`, without the query."""

    method: str
    path: str
    query: Mapping[str, str]
    body: Any
    """The JSON body, a multipart request's `payload_json`, a form as a dict, or None."""
    headers: Mapping[str, str]
    files: tuple[str, ...] = ()
    """File names of a multipart upload."""

    @property
    def authorization(self) -> str | None:
        """The Authorization header (`Bot <token>` from discord.py; none on webhook routes)."""
        return self.headers.get("Authorization")


@dataclass(frozen=True)
class InteractionCallback:
    """One interaction response: `type` 4 message, 5 deferred, 6 deferred update, 9 modal..."""

    interaction_id: int
    token: str
    type: int
    data: JsonObject


@dataclass(frozen=True)
class CannedResponse:
    """A REST answer: a route's default one, or one a test chose in its place."""

    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Override:
    method: str
    pattern: re.Pattern[str]
    response: CannedResponse


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: RestHandler
    needs_bot_token: bool


def route_pattern(path_pattern: str) -> re.Pattern[str]:
    """A path pattern as discord.py writes routes: `/channels/{channel_id}/messages`.

    Each `{name}` matches one path segment and is captured under `name`; the rest is literal.
    """
    parts = re.split(r"\{(\w+)\}", path_pattern)
    regex = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)"
        for index, part in enumerate(parts)
    )
    return re.compile(regex)


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer whose Content-Type is exactly `application/json`, as Discord sends it.

    discord.py parses a body only when the header is exactly that; `web.json_response` adds
    `; charset=utf-8` and login then fails on a string where it wants a dict.
    """
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers=dict(headers or {}),
        content_type=JSON_CONTENT_TYPE,
    )


def error_body(code: int, message: str) -> JsonObject:
    """Discord's error JSON, e.g. `error_body(50013, "Missing Permissions")`."""
    return {"message": message, "code": code}


def _too_many_requests(
    retry_after: float, *, is_global: bool, bucket: str | None
) -> CannedResponse:
    """A 429 as Discord sends it; discord.py retries it after `retry_after` (it needs `Via`)."""
    wait = max(retry_after, 0.001)
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(max(1, round(wait))),
        "X-RateLimit-Scope": "global" if is_global else "user",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    if bucket is not None:
        headers |= {
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{wait:.3f}",
            "X-RateLimit-Bucket": _bucket_hash(bucket),
        }
    body = {"message": "You are being rate limited.", "retry_after": wait, "global": is_global}
    return CannedResponse(body, 429, headers)


def _bucket_hash(key: str) -> str:
    """A route's bucket hash, as opaque as Discord's (the route part of a bucket key)."""
    return hashlib.sha1(key.partition("|")[0].encode()).hexdigest()[:16]


def snowflake(increment: int, *, at_ms: int = FIRST_GENERATED_MS) -> int:
    """A Discord id created at `at_ms` (Unix milliseconds), told apart by `increment`.

    Added, not masked to Discord's 12 counter bits: a long run stays unique and increasing.
    """
    return ((at_ms - DISCORD_EPOCH_MS) << 22) + increment


def shard_for(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a guild's events to: `(guild_id >> 22) % shard_count`."""
    return (guild_id >> 22) % shard_count


def dm_channel_id(user_id: int) -> int:
    """The id of the DM channel between the bot and `user_id`, as the double hands it out."""
    return user_id + DM_CHANNEL_ID_OFFSET


def iso_now() -> str:
    """The current time as Discord writes timestamps (ISO 8601 with an offset)."""
    return datetime.now(UTC).isoformat()


class DiscordDouble(LoopbackServer):
    """Discord's REST API and gateway, served on 127.0.0.1 for one test.

    Use as `async with DiscordDouble() as double:`; point discord.py at `double.rest_url` and
    `double.gateway_url` (see `pointed_at` and `running_client`).
    """

    def __init__(
        self, token: str = BOT_TOKEN, application_id: int = APPLICATION_ID, *, shards: int = 1
    ) -> None:
        super().__init__()
        self.token = token
        self.application_id = application_id
        self.recommended_shards = shards
        """What `GET /gateway/bot` reports: the shard count a client without one will use."""
        self.bot_user = user_payload(application_id, BOT_NAME, bot=True)
        self.calls: list[RestCall] = []
        self.callbacks: list[InteractionCallback] = []
        self.messages: dict[int, JsonObject] = {}
        self.threads: set[int] = set()
        """Threads started on a message (a thread takes its message's id)."""
        self._by_nonce: dict[tuple[int, str], JsonObject] = {}
        """Every message the bot posted or edited, latest state, by id."""
        self.guilds: dict[int, JsonObject] = {}
        """GUILD_CREATE payloads sent after READY: the guilds the bot is in."""
        self.commands: dict[int | None, list[JsonObject]] = {}
        """Synced application commands by guild id (None: global), as the double echoed them."""
        self.gateway_frames: list[JsonObject] = []
        """Every frame discord.py sent on the gateway (heartbeats, IDENTIFY, RESUME...)."""
        self.gateway_connections = 0
        self.identifies = 0
        """IDENTIFYs answered with READY."""
        self.resumes = 0
        """RESUMEs answered with RESUMED."""
        self.heartbeats = 0
        self.session_id: str | None = None
        """The newest session; RESUME is accepted for any session this double started."""
        self._shard_of_session: dict[str, int] = {}
        self._sequences: dict[int, int] = {}
        """Per shard: each gateway session numbers its own dispatches."""
        self._live: dict[int, web.WebSocketResponse] = {}
        """The live session of each shard (shard 0 alone for an unsharded client)."""
        self._shard_of_socket: dict[web.WebSocketResponse, int] = {}
        self._shard_count = 1
        self._send_lock = asyncio.Lock()
        self._overrides: list[_Override] = []
        self._one_shot: deque[_Override] = deque()
        self._interactions: dict[int, JsonObject] = {}
        self._original_message_ids: dict[str, int] = {}
        self._command_ids: dict[tuple[int | None, str], int] = {}
        self.global_limit: int | None = None
        """Requests per second before a global 429 (`enforce_global_limit`); None: no limit."""
        self.global_rate_limited = 0
        """Requests answered 429 for the global limit."""
        self._recent: deque[float] = deque()
        """When the requests the global limit counts were accepted, within the last second."""
        self._route_limits: list[tuple[str, re.Pattern[str], int, float]] = []
        self._route_windows: dict[str, tuple[float, int]] = {}
        """Per route bucket (and its major parameters): (window start, requests in it)."""
        self.route_rate_limited = 0
        """Requests answered 429 for a route bucket (`limit_route`)."""
        self.acknowledge_once = False
        """When set, a second callback for one interaction is refused with 40060, as Discord
        does; see `answered_elsewhere`."""
        self.refused_callbacks: list[InteractionCallback] = []
        """Callbacks refused with 40060 (already acknowledged)."""
        self._acknowledged: set[int] = set()
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._routes = self._route_table()

    # -- lifecycle ---------------------------------------------------------------------------

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """The gateway websocket and every REST route."""
        router.add_get(GATEWAY_PATH, self._handle_gateway)
        router.add_route("*", REST_PREFIX + "/{tail:.*}", self._handle_rest)

    async def close(self) -> None:
        """Forget the live gateway sessions, then close sockets and stop listening."""
        self._live.clear()
        await super().close()

    # -- addresses and ids -------------------------------------------------------------------

    @property
    def rest_url(self) -> str:
        """The value for `discord.http.Route.BASE` (no trailing slash, as discord.py's own)."""
        return self.url + REST_PREFIX

    @property
    def gateway_url(self) -> yarl.URL:
        """The value for `DiscordWebSocket.DEFAULT_GATEWAY`; also READY's `resume_gateway_url`."""
        return yarl.URL(f"ws://127.0.0.1:{self._port}{GATEWAY_PATH}")

    def next_id(self) -> int:
        """A fresh snowflake, greater than every one the double handed out before."""
        return snowflake(next(self._ids))

    # -- guilds ------------------------------------------------------------------------------

    def add_guild(
        self,
        guild_id: int = GUILD_ID,
        *,
        name: str = GUILD_NAME,
        channels: Mapping[int, str] | None = None,
        bot_permissions: int = BOT_PERMISSIONS,
        everyone_permissions: int = MEMBER_PERMISSIONS,
    ) -> JsonObject:
        """Put the bot in a guild: READY lists it and a GUILD_CREATE follows. Return the payload.

        The bot's permissions are its role's and @everyone's together: to take one away from
        the bot, leave it out of both.

        Declare guilds before the client connects; `running_client` waits until all are cached.
        """
        payload = guild_create_payload(
            guild_id,
            name=name,
            channels=channels if channels is not None else {CHANNEL_ID: CHANNEL_NAME},
            bot_user=self.bot_user,
            bot_permissions=bot_permissions,
            everyone_permissions=everyone_permissions,
        )
        self.guilds[guild_id] = payload
        return payload

    # -- REST: overrides and reading back ----------------------------------------------------

    def respond(
        self,
        method: str,
        path_pattern: str,
        status: int = 200,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        once: bool = False,
    ) -> None:
        """Answer `method path_pattern` this way from now on (or only the next call, when `once`).

        `path_pattern` is below `/api/v10` and may hold `{name}` segments, as discord.py's
        routes do: `respond("POST", "/channels/{channel_id}/messages", 403, error_body(...))`.
        """
        override = _Override(
            method.upper(),
            route_pattern(path_pattern),
            CannedResponse(body, status, dict(headers or {})),
        )
        if once:
            self._one_shot.append(override)
        else:
            self._overrides.insert(0, override)  # the newest wins

    def rate_limit_once(
        self, method: str, path_pattern: str, retry_after: float = 0.05, *, is_global: bool = False
    ) -> None:
        """Answer the next matching call with a 429 that discord.py waits out and retries.

        discord.py retries a 429 only with a `Via` header (without one it assumes a Cloudflare
        ban and raises) and reads the wait from the JSON `retry_after`.
        """
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "double-bucket",
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        self.respond(method, path_pattern, 429, body, headers=headers, once=True)

    def enforce_global_limit(self, per_second: int = GLOBAL_RATE_LIMIT) -> None:
        """From now on, answer a request past `per_second` in any one second with a global
        429 (`X-RateLimit-Global: true`, `retry_after` until the window has room), as Discord
        does. Interaction callbacks and webhooks are exempt, as on Discord."""
        self.global_limit = per_second

    def limit_route(
        self, method: str, path_pattern: str, limit: int, per_seconds: float = 1.0
    ) -> None:
        """Give `method path_pattern` a rate limit bucket of `limit` requests per `per_seconds`
        per distinct path (a channel's messages, say): answers carry `X-RateLimit-Limit`,
        `-Remaining`, `-Reset-After` and `-Bucket`, and a request past the limit gets a 429."""
        self._route_limits.append((method.upper(), route_pattern(path_pattern), limit, per_seconds))

    def answered_elsewhere(self, interaction: JsonObject) -> None:
        """Mark `interaction` answered by someone else (another process): the next callback
        for it gets 40060, "Interaction has already been acknowledged"."""
        self.acknowledge_once = True
        self._acknowledged.add(int(interaction["id"]))

    def calls_to(self, method: str, path_pattern: str) -> list[RestCall]:
        """The calls received for `method path_pattern` (see `respond`), in order."""
        pattern = route_pattern(path_pattern)
        return [
            call
            for call in self.calls
            if call.method == method.upper() and pattern.fullmatch(call.path)
        ]

    async def wait_for(
        self, method: str, path_pattern: str, count: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[RestCall]:
        """Wait until `method path_pattern` was called at least `count` times; return the calls."""
        await self._wait_until(
            lambda: len(self.calls_to(method, path_pattern)) >= count,
            timeout,
            lambda: f"{count} {method} {path_pattern} call(s); got {self._call_summary()}",
        )
        return self.calls_to(method, path_pattern)

    async def wait_for_callbacks(
        self, count: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[InteractionCallback]:
        """Wait until `count` interaction callbacks arrived in total; return them all."""
        await self._wait_until(
            lambda: len(self.callbacks) >= count,
            timeout,
            lambda: f"{count} interaction callback(s); got {self._call_summary()}",
        )
        return list(self.callbacks)

    def _call_summary(self) -> list[str]:
        return [f"{call.method} {call.path}" for call in self.calls]

    # -- REST: serving -----------------------------------------------------------------------

    def _route_table(self) -> list[_Route]:
        bot: list[tuple[str, str, RestHandler]] = [
            ("GET", "/users/@me", lambda _call, _args: CannedResponse(self.bot_user)),
            ("GET", "/oauth2/applications/@me", self._application_info),
            ("GET", "/gateway", self._gateway_info),
            ("GET", "/gateway/bot", self._gateway_info),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", "/channels/{channel_id}/messages", self._channel_history),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._start_thread),
            ("POST", "/users/@me/channels", self._open_dm),
            ("GET", "/applications/{application_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/commands", self._sync_commands),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._get_commands,
            ),
            (
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._sync_commands,
            ),
        ]
        # Interaction callbacks and webhooks authenticate by the token in the path, not a header.
        by_path_token: list[tuple[str, str, RestHandler]] = [
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._callback),
            ("POST", "/webhooks/{application_id}/{token}", self._follow_up),
            (
                "GET",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._get_webhook_message,
            ),
            (
                "PATCH",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._edit_webhook_message,
            ),
            (
                "DELETE",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._no_content,
            ),
        ]
        return [
            _Route(method, route_pattern(path), handler, needs_bot_token=True)
            for method, path, handler in bot
        ] + [
            _Route(method, route_pattern(path), handler, needs_bot_token=False)
            for method, path, handler in by_path_token
        ]

    async def _handle_rest(self, request: web.Request) -> web.Response:
        call = await _read_call(request)
        self.calls.append(call)
        await self._notify()
        canned = self._rate_limited(call) or self._override_for(call)
        if canned is None:
            canned = self._default_answer(call)
        canned = self._with_bucket_headers(call, canned)
        if canned.body is None:
            return web.Response(status=canned.status, headers=dict(canned.headers))
        return json_response(canned.body, canned.status, canned.headers)

    def _rate_limited(self, call: RestCall) -> CannedResponse | None:
        """A 429 for a call past the global limit or its route's bucket, else None."""
        now = time.monotonic()
        exempt = call.path.startswith(EXEMPT_FROM_GLOBAL_LIMIT)
        if self.global_limit is not None and not exempt:
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.global_limit:
                self.global_rate_limited += 1
                wait = self._recent[0] + 1.0 - now
                return _too_many_requests(wait, is_global=True, bucket=None)
            self._recent.append(now)
        bucket = self._bucket_of(call)
        if bucket is None:
            return None
        key, limit, per_seconds = bucket
        started, used = self._route_windows.get(key, (now, 0))
        if now - started >= per_seconds:
            started, used = now, 0
        if used >= limit:
            self.route_rate_limited += 1
            return _too_many_requests(started + per_seconds - now, is_global=False, bucket=key)
        self._route_windows[key] = (started, used + 1)
        return None

    def _bucket_of(self, call: RestCall) -> tuple[str, int, float] | None:
        """The route bucket a call counts in (its key, limit and window), if it has one.

        One bucket per route, counted apart per path: Discord's bucket hash names the route,
        and discord.py keeps a bucket per hash and major parameter (the channel).
        """
        for method, pattern, limit, per_seconds in self._route_limits:
            if method == call.method and pattern.fullmatch(call.path):
                return f"{method} {pattern.pattern}|{call.path}", limit, per_seconds
        return None

    def _with_bucket_headers(self, call: RestCall, canned: CannedResponse) -> CannedResponse:
        """A route-limited call's answer with the bucket headers discord.py paces itself by."""
        bucket = self._bucket_of(call)
        if bucket is None or canned.status == 429:
            return canned
        key, limit, per_seconds = bucket
        started, used = self._route_windows.get(key, (time.monotonic(), 0))
        reset_after = max(started + per_seconds - time.monotonic(), 0.0)
        headers = {
            **canned.headers,
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(limit - used, 0)),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": _bucket_hash(key),
        }
        return CannedResponse(canned.body, canned.status, headers)

    def _answered_twice(self, interaction_id: int) -> CannedResponse | None:
        """40060 for a second callback to one interaction, when `acknowledge_once` is set."""
        if not self.acknowledge_once:
            return None
        if interaction_id not in self._acknowledged:
            self._acknowledged.add(interaction_id)
            return None
        body = error_body(ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        return CannedResponse(body, 400)

    def _override_for(self, call: RestCall) -> CannedResponse | None:
        for override in self._one_shot:
            if override.method == call.method and override.pattern.fullmatch(call.path):
                self._one_shot.remove(override)
                return override.response
        for override in self._overrides:
            if override.method == call.method and override.pattern.fullmatch(call.path):
                return override.response
        return None

    def _default_answer(self, call: RestCall) -> CannedResponse:
        for route in self._routes:
            match = route.pattern.fullmatch(call.path)
            if route.method != call.method or match is None:
                continue
            if route.needs_bot_token and call.authorization != f"Bot {self.token}":
                return CannedResponse(error_body(0, "401: Unauthorized"), 401)
            return route.handler(call, match.groupdict())
        # Loud on purpose: a route the double does not know is a test that needs `respond`.
        return CannedResponse(error_body(0, "404: Not Found"), 404)

    def _application_info(self, _call: RestCall, _args: Mapping[str, str]) -> CannedResponse:
        owner = user_payload(USER_ID, USER_NAME)
        return CannedResponse(
            {
                "id": str(self.application_id),
                "name": BOT_NAME,
                "icon": None,
                "description": "AWS and DevOps interview practice",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": owner,
                "verify_key": "0" * 64,
                "team": None,
                "flags": 0,
                "bot": self.bot_user,
                "interactions_endpoint_url": None,  # set, discord.py warns it gets no events
            }
        )

    def _gateway_info(self, _call: RestCall, _args: Mapping[str, str]) -> CannedResponse:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return CannedResponse(
            {
                "url": str(self.gateway_url),
                "shards": self.recommended_shards,
                "session_start_limit": limit,
            }
        )

    def _get_channel(self, _call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        channel_id = int(args["channel_id"])
        for guild_id, guild in self.guilds.items():
            for channel in guild["channels"]:
                if int(channel["id"]) == channel_id:
                    return CannedResponse({**channel, "guild_id": str(guild_id)})
        return CannedResponse(text_channel_payload(channel_id, CHANNEL_NAME, guild_id=GUILD_ID))

    def _create_message(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        body = call.body if isinstance(call.body, dict) else {}
        channel_id = int(args["channel_id"])
        nonce = body.get("nonce")
        # enforce_nonce: a send repeating a nonce gets the first message back, no second one.
        if nonce is not None and body.get("enforce_nonce"):
            earlier = self._by_nonce.get((channel_id, str(nonce)))
            if earlier is not None:
                return CannedResponse(earlier)
        message = message_payload(
            # Message ids carry their creation time, as Discord's do: history reads `after` one.
            snowflake(next(self._ids), at_ms=time.time_ns() // 1_000_000),
            channel_id,
            body.get("content") or "",
            self.bot_user,
            flags=body.get("flags", 0),
            embeds=body.get("embeds", []),
            components=body.get("components", []),
        )
        if body.get("message_reference"):
            message["message_reference"] = body["message_reference"]
        if nonce is not None:
            message["nonce"] = nonce  # only the create response carries it, as on Discord
            self._by_nonce[(channel_id, str(nonce))] = message
        self.messages[int(message["id"])] = message
        return CannedResponse(message)

    def _channel_history(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        """The channel's messages after `after`: the oldest `limit` of them, newest first."""
        channel_id = int(args["channel_id"])
        after = int(call.query.get("after", 0))
        limit = int(call.query.get("limit", 50))
        if channel_id not in self._known_channels():
            return CannedResponse(error_body(10003, "Unknown Channel"), 404)
        found = sorted(
            (m for m in self.messages.values() if int(m["channel_id"]) == channel_id),
            key=lambda m: int(m["id"]),
        )
        page = [m for m in found if int(m["id"]) > after][:limit]
        return CannedResponse([_without_nonce(m) for m in reversed(page)])

    def _known_channels(self) -> set[int]:
        """Every guild channel, every channel a message went to, and threads started."""
        known = {int(c["id"]) for guild in self.guilds.values() for c in guild["channels"]}
        known |= {int(m["channel_id"]) for m in self.messages.values()}
        return known | self.threads

    def _edit_message(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        message_id = int(args["message_id"])
        original = self.messages.get(message_id) or message_payload(
            message_id, int(args["channel_id"]), "", self.bot_user
        )
        return CannedResponse(self._edited(message_id, original, call.body))

    def _start_thread(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        body = call.body if isinstance(call.body, dict) else {}
        self.threads.add(int(args["message_id"]))
        # A thread started from a message takes the message's id.
        return CannedResponse(
            thread_payload(
                int(args["message_id"]),
                parent_id=int(args["channel_id"]),
                name=body.get("name", "thread"),
                owner_id=self.application_id,
                auto_archive_duration=body.get("auto_archive_duration", 1440),
            )
        )

    def _open_dm(self, call: RestCall, _args: Mapping[str, str]) -> CannedResponse:
        recipient_id = int(call.body["recipient_id"])
        return CannedResponse(dm_channel_payload(recipient_id))

    def _get_commands(self, _call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        guild_id = int(args["guild_id"]) if "guild_id" in args else None
        return CannedResponse(self.commands.get(guild_id, []))

    def _sync_commands(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        guild_id = int(args["guild_id"]) if "guild_id" in args else None
        synced = [self._registered(command, guild_id) for command in call.body or []]
        self.commands[guild_id] = synced
        return CannedResponse(synced)

    def _registered(self, command: JsonObject, guild_id: int | None) -> JsonObject:
        # The same name keeps its id across syncs, as on Discord.
        key = (guild_id, command["name"])
        command_id = self._command_ids.setdefault(key, self.next_id())
        registered = {
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            **command,
            "id": str(command_id),
            "application_id": str(self.application_id),
            "version": str(self.next_id()),
        }
        if guild_id is not None:
            registered["guild_id"] = str(guild_id)
        return registered

    def _callback(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        interaction_id = int(args["interaction_id"])
        body = call.body if isinstance(call.body, dict) else {}
        callback_type = int(body.get("type", 0))
        data = body.get("data") or {}
        refused = self._answered_twice(interaction_id)
        if refused is not None:
            callback = InteractionCallback(interaction_id, args["token"], callback_type, data)
            self.refused_callbacks.append(callback)
            return refused
        self.callbacks.append(
            InteractionCallback(interaction_id, args["token"], callback_type, data)
        )
        if "with_response" not in call.query:
            return CannedResponse(status=204)
        # discord.py 2.5+ asks `with_response` and builds its InteractionCallbackResponse from it.
        interaction = self._interactions.get(interaction_id, {})
        answer: JsonObject = {
            "interaction": {
                "id": str(interaction_id),
                "type": interaction.get("type", 2),
                "response_message_loading": callback_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(data.get("flags", 0) & EPHEMERAL_FLAG),
            }
        }
        message = self._callback_message(args["token"], callback_type, data, interaction)
        resource: JsonObject = {"type": callback_type}
        if message is not None:
            answer["interaction"]["response_message_id"] = message["id"]
            resource["message"] = message
        answer["resource"] = resource
        return CannedResponse(answer)

    def _callback_message(
        self, token: str, callback_type: int, data: JsonObject, interaction: JsonObject
    ) -> JsonObject | None:
        if callback_type in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE):
            flags = data.get("flags", 0)
            if callback_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
                flags |= LOADING_FLAG
            message = self._webhook_message(
                int(interaction.get("channel_id", CHANNEL_ID)),
                data,
                flags=flags,
                # 20: the reply to a slash command; 19: a reply to anything else.
                message_type=20 if interaction.get("type", 2) == 2 else 19,
            )
            self._original_message_ids[token] = int(message["id"])
            return message
        if callback_type == CALLBACK_UPDATE_MESSAGE and "message" in interaction:
            source = interaction["message"]
            return self._edited(int(source["id"]), source, data)
        return None

    def _follow_up(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        body = call.body if isinstance(call.body, dict) else {}
        message = self._webhook_message(CHANNEL_ID, body, flags=body.get("flags", 0))
        # Without `wait`, Discord accepts the message and says nothing about it.
        if call.query.get("wait", "").lower() not in ("1", "true"):
            return CannedResponse(status=204)
        return CannedResponse(message)

    def _webhook_message_id(self, args: Mapping[str, str]) -> int:
        if args["message_id"] == "@original":
            return self._original_message_ids.setdefault(args["token"], self.next_id())
        return int(args["message_id"])

    def _get_webhook_message(self, _call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        message = self.messages.get(self._webhook_message_id(args))
        if message is None:
            return CannedResponse(error_body(10008, "Unknown Message"), 404)
        return CannedResponse(message)

    def _edit_webhook_message(self, call: RestCall, args: Mapping[str, str]) -> CannedResponse:
        message_id = self._webhook_message_id(args)
        original = self.messages.get(message_id) or self._webhook_message(
            CHANNEL_ID, {}, flags=0, message_id=message_id
        )
        edited = self._edited(message_id, original, call.body)
        # Editing a deferred ("thinking") response replaces the loading state.
        edited["flags"] = edited.get("flags", 0) & ~LOADING_FLAG
        return CannedResponse(edited)

    def _no_content(self, _call: RestCall, _args: Mapping[str, str]) -> CannedResponse:
        return CannedResponse(status=204)

    def _webhook_message(
        self,
        channel_id: int,
        body: JsonObject,
        *,
        flags: int,
        message_type: int = 0,
        message_id: int | None = None,
    ) -> JsonObject:
        message = message_payload(
            message_id or self.next_id(),
            channel_id,
            body.get("content") or "",
            self.bot_user,
            flags=flags,
            embeds=body.get("embeds", []),
            components=body.get("components", []),
            message_type=message_type,
        )
        message["webhook_id"] = str(self.application_id)
        message["application_id"] = str(self.application_id)
        self.messages[int(message["id"])] = message
        return message

    def _edited(self, message_id: int, original: JsonObject, changes: Any) -> JsonObject:
        fields = ("content", "embeds", "components", "flags", "attachments")
        update = {key: value for key, value in (changes or {}).items() if key in fields}
        edited = {**original, **update, "edited_timestamp": iso_now()}
        self.messages[message_id] = edited
        return edited

    # -- gateway -----------------------------------------------------------------------------

    async def dispatch(
        self,
        event: str,
        payload: JsonObject,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        shard: int | None = None,
    ) -> int:
        """Send DISPATCH `event` on a live session (waiting for it); return its sequence.

        The session is `shard`'s, else the one Discord would pick: a guild's events go to
        shard `(guild_id >> 22) % shard_count`, everything else (DMs) to shard 0.
        """
        if event == "INTERACTION_CREATE":
            # Remembered so the callback answer can name the interaction's type and channel.
            self._interactions[int(payload["id"])] = payload
        if shard is None:
            guild_id = payload.get("guild_id")
            shard = shard_for(int(guild_id), self._shard_count) if guild_id else 0
        target = shard
        await self._wait_until(
            lambda: target in self._live,
            timeout,
            lambda: f"a live gateway session on shard {target} to dispatch {event}",
        )
        return await self._send_dispatch(self._live[target], event, payload)

    async def close_gateway(self, code: int = RESUMABLE_CLOSE_CODE) -> None:
        """Close the gateway sockets from Discord's side; with 4000, discord.py will RESUME."""
        self._live.clear()
        for socket in list(self._open_sockets):
            await socket.close(code=code)

    def invalidate_session(self) -> None:
        """Forget the sessions: a RESUME gets INVALID_SESSION and discord.py re-IDENTIFYs."""
        self.session_id = None
        self._shard_of_session.clear()

    async def wait_for_gateway(self, count: int = 1, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until `count` sessions were started or resumed in total and one is live now."""
        await self._wait_until(
            lambda: self.identifies + self.resumes >= count and bool(self._live),
            timeout,
            lambda: (
                f"gateway session #{count}; got {self.identifies} IDENTIFY, "
                f"{self.resumes} RESUME, ops {[frame.get('op') for frame in self.gateway_frames]}"
            ),
        )

    def identify_payloads(self) -> list[JsonObject]:
        """The `d` of every IDENTIFY discord.py sent (token, intents, properties...)."""
        return [frame["d"] for frame in self.gateway_frames if frame.get("op") == OP_IDENTIFY]

    async def _handle_gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        self._open_sockets.append(socket)
        self.gateway_connections += 1
        hello = {"heartbeat_interval": HEARTBEAT_INTERVAL_MS, "_trace": ["double-gateway"]}
        await self._send(socket, {"op": OP_HELLO, "d": hello, "s": None, "t": None})
        try:
            async for message in socket:
                if message.type is aiohttp.WSMsgType.TEXT:
                    await self._on_frame(socket, json.loads(message.data))
        finally:
            self._open_sockets.remove(socket)
            shard = self._shard_of_socket.pop(socket, None)
            if shard is not None and self._live.get(shard) is socket:
                del self._live[shard]
            await self._notify()
        return socket

    async def _on_frame(self, socket: web.WebSocketResponse, frame: JsonObject) -> None:
        self.gateway_frames.append(frame)
        op = frame.get("op")
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            await self._send(socket, {"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == OP_IDENTIFY:
            await self._identify(socket, frame["d"])
        elif op == OP_RESUME:
            await self._resume(socket, frame["d"])
        # Anything else (presence updates, member requests) is only recorded.
        await self._notify()

    async def _identify(self, socket: web.WebSocketResponse, identify: JsonObject) -> None:
        if identify.get("token") != self.token:
            await socket.close(
                code=AUTHENTICATION_FAILED_CLOSE_CODE, message=b"Authentication failed."
            )
            return
        shard, shard_count = identify.get("shard") or (0, 1)
        self._shard_count = shard_count
        self.session_id = f"session-{self.next_id()}"
        self._shard_of_session[self.session_id] = shard
        self._shard_of_socket[socket] = shard
        self._sequences[shard] = 0
        guilds = [
            guild
            for guild_id, guild in self.guilds.items()
            if shard_for(guild_id, shard_count) == shard
        ]
        ready = {
            "v": API_VERSION,
            "user": {**self.bot_user, "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": guild["id"], "unavailable": True} for guild in guilds],
            "session_id": self.session_id,
            "session_type": "normal",
            "resume_gateway_url": str(self.gateway_url),
            "application": {"id": str(self.application_id), "flags": 0},
            "shard": [shard, shard_count],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
        }
        await self._send_dispatch(socket, "READY", ready)
        for guild in guilds:
            await self._send_dispatch(socket, "GUILD_CREATE", guild)
        self.identifies += 1
        self._live[shard] = socket

    async def _resume(self, socket: web.WebSocketResponse, resume: JsonObject) -> None:
        session_id = resume.get("session_id")
        if resume.get("token") != self.token or session_id not in self._shard_of_session:
            # d=false: not resumable; discord.py closes, then IDENTIFYs afresh.
            await self._send(socket, {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        # Nothing was missed while away: every dispatch waits for a live session.
        shard = self._shard_of_session[session_id]
        self._shard_of_socket[socket] = shard
        await self._send_dispatch(socket, "RESUMED", {"_trace": ["double-gateway"]})
        self.resumes += 1
        self._live[shard] = socket

    async def _send_dispatch(
        self, socket: web.WebSocketResponse, event: str, payload: JsonObject
    ) -> int:
        # One lock: sequence numbers must reach the client in the order they were assigned.
        async with self._send_lock:
            shard = self._shard_of_socket.get(socket, 0)
            sequence = self._sequences.get(shard, 0) + 1
            self._sequences[shard] = sequence
            frame = {"op": OP_DISPATCH, "t": event, "s": sequence, "d": payload}
            await socket.send_str(json.dumps(frame))
            return sequence

    async def _send(self, socket: web.WebSocketResponse, frame: JsonObject) -> None:
        async with self._send_lock:
            await socket.send_str(json.dumps(frame))

    # -- waiting -----------------------------------------------------------------------------

    async def _notify(self) -> None:
        """Wake the waits: something was just recorded."""
        async with self._changed:
            self._changed.notify_all()

    async def _wait_until(
        self, ready: Callable[[], bool], timeout: float, describe: Callable[[], str]
    ) -> None:
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(ready)
        except TimeoutError:
            raise TimeoutError(f"waited {timeout}s for {describe()}") from None


async def _read_call(request: web.Request) -> RestCall:
    """A REST request as a RestCall: JSON, multipart (`payload_json` + files) or form body."""
    path = "/" + request.match_info["tail"]
    body: Any = None
    files: list[str] = []
    if request.content_type == JSON_CONTENT_TYPE:
        body = await request.json()
    elif request.content_type == "multipart/form-data":
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files.append(value.filename)
            elif name == "payload_json":
                body = json.loads(str(value))
    elif request.can_read_body:
        body = dict(await request.post())
    return RestCall(
        request.method, path, dict(request.query), body, dict(request.headers), tuple(files)
    )


# -- wiring a real client ------------------------------------------------------------------


@contextmanager
def pointed_at(double: DiscordDouble) -> Iterator[None]:
    """Point every discord.py client at `double` (REST and gateway), restoring on exit.

    Both are class attributes read when a request or connection is made, so they must stay
    patched for the client's whole life.
    """
    rest_base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = double.rest_url
    DiscordWebSocket.DEFAULT_GATEWAY = double.gateway_url
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = rest_base, gateway


@asynccontextmanager
async def running_client(
    client: discord.Client,
    token: str,
    double: DiscordDouble,
    timeout: float = DEFAULT_TIMEOUT,
) -> AsyncIterator[discord.Client]:
    """Log `client` in and connect it to `double`; yield once READY and every guild is cached.

    Build the client with `guild_ready_timeout=0` (else on_ready waits 2 s for stragglers).
    On exit the client is closed and every task started meanwhile must finish, so a test that
    leaves work running fails here instead of leaking it into the next test.
    """
    tasks_before = asyncio.all_tasks()
    with pointed_at(double):
        connection: asyncio.Task[None] | None = None
        try:
            await client.login(token)
            connection = asyncio.create_task(client.connect(), name="discord-client-connect")
            await _until_ready(client, connection, double, timeout)
            yield client
        finally:
            await client.close()
            if connection is not None:
                # connect() returns once it sees the client closed.
                async with asyncio.timeout(timeout):
                    await asyncio.gather(connection, return_exceptions=True)
    await _settle_tasks(tasks_before, timeout)


async def _until_ready(
    client: discord.Client,
    connection: asyncio.Task[None],
    double: DiscordDouble,
    timeout: float,
) -> None:
    """Wait for on_ready and the guilds' GUILD_CREATE; fail early if connect() gives up."""
    ready = asyncio.create_task(client.wait_until_ready(), name="discord-client-ready")
    try:
        done, _ = await asyncio.wait(
            {ready, connection}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        ready.cancel()
    if connection in done:
        connection.result()  # raises what stopped it (bad token, refused connection...)
        raise RuntimeError("discord.py stopped connecting before READY")
    if ready not in done:
        raise TimeoutError(f"waited {timeout}s for READY; double saw {double.gateway_frames}")
    # With guild_ready_timeout=0, on_ready may fire before the GUILD_CREATEs are read, and a
    # GUILD_CREATE read during the ready phase dispatches no event to wait on: poll the cache.
    async with asyncio.timeout(timeout):
        while any(_unavailable(client, guild_id) for guild_id in double.guilds):  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def _unavailable(client: discord.Client, guild_id: int) -> bool:
    guild = client.get_guild(guild_id)
    return guild is None or guild.unavailable


async def _settle_tasks(tasks_before: set[asyncio.Task[Any]], timeout: float) -> None:
    started = asyncio.all_tasks() - tasks_before - {asyncio.current_task()}
    if not started:
        return
    _, pending = await asyncio.wait(started, timeout=timeout)
    if pending:
        raise RuntimeError(f"tasks still running after the client closed: {pending}")


# -- payload builders ----------------------------------------------------------------------

_builder_ids = itertools.count(1 << 21)  # far from the double's own ids


def _next_builder_id() -> int:
    return snowflake(next(_builder_ids))


def user_payload(
    user_id: int = USER_ID, username: str = USER_NAME, *, bot: bool = False
) -> JsonObject:
    """A user object (new-style username: discriminator "0")."""
    user: JsonObject = {
        "id": str(user_id),
        "username": username,
        "discriminator": "0",
        "global_name": None if bot else username.title(),
        "avatar": None,
        "public_flags": 0,
    }
    if bot:
        user["bot"] = True
    return user


def member_payload(
    user_id: int = USER_ID,
    username: str = USER_NAME,
    *,
    permissions: int = MEMBER_PERMISSIONS,
    roles: Sequence[int] = (),
) -> JsonObject:
    """A guild member as an interaction carries it: with `permissions` in the channel."""
    return {
        "user": user_payload(user_id, username),
        "roles": [str(role) for role in roles],
        "joined_at": "2024-01-15T10:00:00.000000+00:00",
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
        "communication_disabled_until": None,
        "permissions": str(permissions),
    }


def text_channel_payload(
    channel_id: int = CHANNEL_ID, name: str = CHANNEL_NAME, *, guild_id: int | None = GUILD_ID
) -> JsonObject:
    """A guild text channel (type 0); GUILD_CREATE lists them without `guild_id`."""
    channel: JsonObject = {
        "id": str(channel_id),
        "type": 0,
        "name": name,
        "position": 0,
        "parent_id": None,
        "topic": None,
        "nsfw": False,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "permission_overwrites": [],
        "flags": 0,
    }
    if guild_id is not None:
        channel["guild_id"] = str(guild_id)
    return channel


def dm_channel_payload(user_id: int = USER_ID, username: str = USER_NAME) -> JsonObject:
    """The DM channel (type 1) between the bot and `user_id`; its id is `dm_channel_id(user)`."""
    return {
        "id": str(dm_channel_id(user_id)),
        "type": 1,
        "last_message_id": None,
        "flags": 0,
        "recipients": [user_payload(user_id, username)],
    }


def thread_payload(
    thread_id: int,
    *,
    parent_id: int = CHANNEL_ID,
    name: str = "thread",
    owner_id: int = BOT_USER_ID,
    guild_id: int = GUILD_ID,
    auto_archive_duration: int = 1440,
) -> JsonObject:
    """A public thread (type 11) in `parent_id`."""
    now = iso_now()
    return {
        "id": str(thread_id),
        "guild_id": str(guild_id),
        "parent_id": str(parent_id),
        "owner_id": str(owner_id),
        "name": name,
        "type": 11,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": auto_archive_duration,
            "archive_timestamp": now,
            "locked": False,
            "create_timestamp": now,
        },
    }


def role_payload(role_id: int, name: str, permissions: int, *, position: int = 0) -> JsonObject:
    """A guild role; `@everyone` has the guild's id."""
    return {
        "id": str(role_id),
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "hoist": False,
        "managed": name != "@everyone",
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }


def guild_create_payload(
    guild_id: int = GUILD_ID,
    *,
    name: str = GUILD_NAME,
    channels: Mapping[int, str] | None = None,
    bot_user: JsonObject | None = None,
    bot_permissions: int = BOT_PERMISSIONS,
    everyone_permissions: int = MEMBER_PERMISSIONS,
) -> JsonObject:
    """A GUILD_CREATE: roles (@everyone and the bot's), the bot as member, text channels."""
    bot = bot_user or user_payload(BOT_USER_ID, BOT_NAME, bot=True)
    bot_role_id = guild_id + 1
    listed = channels if channels is not None else {CHANNEL_ID: CHANNEL_NAME}
    bot_member = {
        **member_payload(int(bot["id"]), bot["username"], roles=[bot_role_id]),
        "user": bot,
    }
    del bot_member["permissions"]  # only interactions carry a member's computed permissions
    return {
        "id": str(guild_id),
        "name": name,
        "icon": None,
        "owner_id": str(USER_ID),
        "afk_timeout": 300,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "system_channel_id": None,
        "features": [],
        "emojis": [],
        "stickers": [],
        "roles": [
            role_payload(guild_id, "@everyone", everyone_permissions),
            role_payload(bot_role_id, bot["username"], bot_permissions, position=1),
        ],
        "joined_at": "2024-01-15T10:00:00.000000+00:00",
        "large": False,
        "unavailable": False,
        "member_count": 2,
        "members": [bot_member],
        "channels": [
            {**text_channel_payload(channel_id, channel_name, guild_id=None), "position": index}
            for index, (channel_id, channel_name) in enumerate(listed.items())
        ],
        "threads": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def _without_nonce(message: JsonObject) -> JsonObject:
    """A message as history reads return it: Discord sends the nonce back only on create."""
    return {key: value for key, value in message.items() if key != "nonce"}


def message_payload(
    message_id: int,
    channel_id: int,
    content: str,
    author: JsonObject,
    *,
    guild_id: int | None = None,
    flags: int = 0,
    embeds: Sequence[JsonObject] = (),
    components: Sequence[JsonObject] = (),
    message_type: int = 0,
) -> JsonObject:
    """A message object as REST answers and MESSAGE_CREATE carry it."""
    message: JsonObject = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "author": author,
        "content": content,
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": list(embeds),
        "components": list(components),
        "pinned": False,
        "type": message_type,
        "flags": flags,
    }
    if guild_id is not None:
        message["guild_id"] = str(guild_id)
    return message


def dm_message_create(
    content: str,
    *,
    author_id: int = USER_ID,
    author_name: str = USER_NAME,
    channel_id: int | None = None,
) -> JsonObject:
    """A MESSAGE_CREATE from `author_id` in their DM with the bot.

    DM content reaches a bot without the privileged message_content intent.
    """
    message = message_payload(
        _next_builder_id(),
        channel_id if channel_id is not None else dm_channel_id(author_id),
        content,
        user_payload(author_id, author_name),
    )
    message["channel_type"] = 1
    return message


def _interaction(
    interaction_type: int,
    data: JsonObject,
    *,
    guild_id: int | None,
    channel_id: int | None,
    user_id: int,
    user_name: str,
    permissions: int,
    application_id: int,
    app_permissions: int,
    locale: str,
) -> JsonObject:
    """The fields every interaction carries, in a guild channel or (guild_id None) a bot DM."""
    interaction: JsonObject = {
        "id": str(_next_builder_id()),
        "application_id": str(application_id),
        "type": interaction_type,
        "data": data,
        "token": f"interaction-token-{_next_builder_id()}",
        "version": 1,
        "locale": locale,
        "app_permissions": str(app_permissions),
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if guild_id is not None:
        in_channel = channel_id if channel_id is not None else CHANNEL_ID
        interaction |= {
            "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "channel_id": str(in_channel),
            "channel": text_channel_payload(in_channel, CHANNEL_NAME, guild_id=guild_id),
            "member": member_payload(user_id, user_name, permissions=permissions),
            "context": 0,  # GUILD
            "authorizing_integration_owners": {"0": str(guild_id)},
        }
    else:
        dm = dm_channel_payload(user_id, user_name)
        if channel_id is not None:
            dm["id"] = str(channel_id)
        interaction |= {
            "channel_id": dm["id"],
            "channel": dm,
            "user": user_payload(user_id, user_name),
            "context": 1,  # BOT_DM
            # "0": installed to a guild; in the bot's DM the guild is "0".
            "authorizing_integration_owners": {"0": "0"},
        }
    return interaction


@dataclass(frozen=True)
class UserOption:
    """The value of a user option (type 6): Discord sends the id and resolves the user apart."""

    user_id: int
    username: str


@dataclass(frozen=True)
class ChannelOption:
    """The value of a channel option (type 7): Discord sends the id and resolves the channel
    apart, with the invoking member's permissions in it, cached by the bot or not."""

    channel_id: int
    name: str = CHANNEL_NAME
    channel_type: int = 0
    permissions: int = MEMBER_PERMISSIONS


OptionValue = str | int | float | bool | UserOption | ChannelOption


def resolved_channels(channels: Sequence[ChannelOption]) -> JsonObject:
    """`data.resolved.channels` for channel options: id, name, type and permissions."""
    return {
        str(channel.channel_id): {
            "id": str(channel.channel_id),
            "name": channel.name,
            "type": channel.channel_type,
            "permissions": str(channel.permissions),
            "parent_id": None,
            "flags": 0,
        }
        for channel in channels
    }


def command_options(values: Mapping[str, OptionValue]) -> list[JsonObject]:
    """Command options as Discord types them: 3 string, 4 integer, 5 boolean, 6 user, 10 number."""
    options = []
    for name, value in values.items():
        if isinstance(value, UserOption):
            options.append({"name": name, "type": 6, "value": str(value.user_id)})
            continue
        if isinstance(value, ChannelOption):
            options.append({"name": name, "type": 7, "value": str(value.channel_id)})
            continue
        # bool before int: True is an int to Python, a boolean (5) to Discord.
        if isinstance(value, bool):
            option_type = 5
        elif isinstance(value, int):
            option_type = 4
        elif isinstance(value, float):
            option_type = 10
        else:
            option_type = 3
        options.append({"name": name, "type": option_type, "value": value})
    return options


def _command_data(
    name: str,
    subcommand: str | None,
    subcommand_group: str | None,
    options: list[JsonObject],
    command_id: int,
    command_guild_id: int | None,
) -> JsonObject:
    # Nest innermost-out: options inside the subcommand (type 1), inside its group (type 2).
    if subcommand is not None:
        options = [{"name": subcommand, "type": 1, "options": options}]
    if subcommand_group is not None:
        options = [{"name": subcommand_group, "type": 2, "options": options}]
    data: JsonObject = {"id": str(command_id), "name": name, "type": 1, "options": options}
    if command_guild_id is not None:
        data["guild_id"] = str(command_guild_id)  # a guild command; absent for global ones
    return data


def slash_command_interaction(
    name: str = "awsquiz",
    subcommand: str | None = None,
    options: Mapping[str, OptionValue] | None = None,
    *,
    subcommand_group: str | None = None,
    command_id: int = COMMAND_ID,
    command_guild_id: int | None = None,
    guild_id: int | None = GUILD_ID,
    channel_id: int | None = None,
    user_id: int = USER_ID,
    user_name: str = USER_NAME,
    permissions: int = MEMBER_PERMISSIONS,
    application_id: int = APPLICATION_ID,
    app_permissions: int = BOT_PERMISSIONS,
    locale: str = "en-US",
) -> JsonObject:
    """An INTERACTION_CREATE for `/name [group] subcommand options...` (type 2).

    `guild_id=None` makes it a command in the bot's DM; `permissions` is the member's
    (add `MANAGE_GUILD` for an admin).
    """
    data = _command_data(
        name,
        subcommand,
        subcommand_group,
        command_options(options or {}),
        command_id,
        command_guild_id,
    )
    users = [value for value in (options or {}).values() if isinstance(value, UserOption)]
    if users:
        data["resolved"] = resolved_users(users, in_guild=guild_id is not None)
    channels = [value for value in (options or {}).values() if isinstance(value, ChannelOption)]
    if channels:
        data.setdefault("resolved", {})["channels"] = resolved_channels(channels)
    return _interaction(
        2,
        data,
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=user_id,
        user_name=user_name,
        permissions=permissions,
        application_id=application_id,
        app_permissions=app_permissions,
        locale=locale,
    )


def resolved_users(users: Sequence[UserOption], *, in_guild: bool) -> JsonObject:
    """`data.resolved` for user options: the users and, in a guild, them as members."""
    resolved: JsonObject = {
        "users": {str(user.user_id): user_payload(user.user_id, user.username) for user in users}
    }
    if in_guild:
        members = {}
        for user in users:
            member = member_payload(user.user_id, user.username)
            del member["user"]  # resolved members carry their user under `users`
            members[str(user.user_id)] = member
        resolved["members"] = members
    return resolved


def autocomplete_interaction(
    name: str = "awsquiz",
    subcommand: str | None = None,
    *,
    focused: str,
    value: str = "",
    options: Mapping[str, OptionValue] | None = None,
    subcommand_group: str | None = None,
    command_id: int = COMMAND_ID,
    guild_id: int | None = GUILD_ID,
    user_id: int = USER_ID,
    application_id: int = APPLICATION_ID,
) -> JsonObject:
    """An autocomplete request (type 4): the user has typed `value` into option `focused`."""
    typed = [*command_options(options or {}), {"name": focused, "type": 3, "value": value}]
    typed[-1]["focused"] = True
    data = _command_data(name, subcommand, subcommand_group, typed, command_id, None)
    return _interaction(
        4,
        data,
        guild_id=guild_id,
        channel_id=None,
        user_id=user_id,
        user_name=USER_NAME,
        permissions=MEMBER_PERMISSIONS,
        application_id=application_id,
        app_permissions=BOT_PERMISSIONS,
        locale="en-US",
    )


def button_component(custom_id: str, label: str = "Answer", *, style: int = 1) -> JsonObject:
    """A button (type 2); style 1 primary."""
    return {"type": 2, "style": style, "label": label, "custom_id": custom_id}


def button_interaction(
    custom_id: str,
    message: JsonObject | None = None,
    *,
    guild_id: int | None = GUILD_ID,
    channel_id: int | None = None,
    user_id: int = USER_ID,
    user_name: str = USER_NAME,
    permissions: int = MEMBER_PERMISSIONS,
    application_id: int = APPLICATION_ID,
) -> JsonObject:
    """A click on button `custom_id` (type 3) under `message` (default: a bot message with it)."""
    in_channel = (
        channel_id
        if channel_id is not None
        else (CHANNEL_ID if guild_id is not None else dm_channel_id(user_id))
    )
    if message is None:
        message = message_payload(
            _next_builder_id(),
            in_channel,
            "Question of the day",
            user_payload(application_id, BOT_NAME, bot=True),
            guild_id=guild_id,
            components=[{"type": 1, "components": [button_component(custom_id)]}],
        )
    interaction = _interaction(
        3,
        {"custom_id": custom_id, "component_type": 2},
        guild_id=guild_id,
        channel_id=in_channel,
        user_id=user_id,
        user_name=user_name,
        permissions=permissions,
        application_id=application_id,
        app_permissions=BOT_PERMISSIONS,
        locale="en-US",
    )
    interaction["message"] = message
    return interaction


def modal_submit_interaction(
    custom_id: str,
    fields: Mapping[str, str],
    *,
    guild_id: int | None = GUILD_ID,
    channel_id: int | None = None,
    user_id: int = USER_ID,
    user_name: str = USER_NAME,
    permissions: int = MEMBER_PERMISSIONS,
    application_id: int = APPLICATION_ID,
) -> JsonObject:
    """A modal submit (type 5): `fields` maps each text input's custom_id to what was typed.

    Each input comes in its own action row (type 1) of one text input (type 4), as Discord
    sends the classic layout.
    """
    rows = [
        {"type": 1, "components": [{"type": 4, "custom_id": input_id, "value": value}]}
        for input_id, value in fields.items()
    ]
    return _interaction(
        5,
        {"custom_id": custom_id, "components": rows},
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=user_id,
        user_name=user_name,
        permissions=permissions,
        application_id=application_id,
        app_permissions=BOT_PERMISSIONS,
        locale="en-US",
    )
