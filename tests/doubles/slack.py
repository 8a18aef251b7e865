"""A double of the Slack platform on loopback, for testing the real slack-bolt and slack_sdk code.

`SlackDouble` is an aiohttp server on 127.0.0.1 (port 0) that plays three parts of Slack:
the Web API (`/api/{method}`, recorded and answered from a table), `response_url` (records what
Bolt's `respond()` posts) and Socket Mode (`/link`, a websocket that sends envelopes and reads
acks). The module-level helpers play Slack towards a Bolt app in HTTP mode: signed slash
commands, interactions and events, and builders for realistic payloads.
"""

# The waits take `timeout` on purpose (ASYNC109): a double that gives up by itself can say what it
# was waiting for and what it saw instead, which a bare cancellation from outside cannot.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from bot.adapters.slack import http
from doubles.loopback import LoopbackServer

JsonObject = dict[str, Any]

TEAM_ID: Final = "T0AWSQUIZ"
TEAM_DOMAIN: Final = "awsquiz-test"
APP_ID: Final = "A0AWSQUIZ"
BOT_ID: Final = "B0AWSQUIZ"
BOT_USER_ID: Final = "U0AWSQUIZ"
BOT_TOKEN: Final = "xoxb-test"
APP_TOKEN: Final = "xapp-test"
USER_ID: Final = "U0ALICE"
USER_NAME: Final = "alice"
CHANNEL_ID: Final = "C0STUDY"
CHANNEL_NAME: Final = "aws-study"
SIGNING_SECRET: Final = "test-signing-secret"
INSTALLED_BOT_TOKEN: Final = "xoxb-installed-bot-token"
"""What oauth.v2.access hands out by default (a standalone workspace, no token rotation)."""
ROTATING_TOKEN_SECONDS: Final = 12 * 60 * 60
"""Slack's rotating tokens expire 12 hours after they are issued."""
ROTATING_TOKEN_BODY: Final = "a1b2c3d4" * 20
ROTATING_REFRESH_BODY: Final = "e5f6a7b8" * 18
"""Rotating tokens are long (about 180 characters): their ciphertext needs migration 0008."""
DEFAULT_TIMEOUT: Final = 5.0
"""Seconds any wait here gives up after: ample for a slow CI, quick to report a missing call."""

TS_STEP_MICROS: Final = 100
BOLT_EVENTS_PATH: Final = "/slack/events"
SOCKET_PATH: Final = "/link"
DEFAULT_RESPONSE_TOKEN: Final = "default"
JSON_CONTENT_TYPE: Final = "application/json"
SLACK_CONTROL: Final = re.compile(r"<[@#!][^<>]*>")
"""What Slack itself writes for a mention or broadcast picked in the composer: `<@U1|bob>`."""


@dataclass(frozen=True)
class ApiCall:
    """One Web API call the double received: query, form and JSON body merged into `params`."""

    method: str
    params: JsonObject
    authorization: str | None


@dataclass(frozen=True)
class InstallTarget:
    """Where an OAuth install goes: a workspace, a workspace of a Grid org, or a Grid org."""

    team_id: str | None = TEAM_ID
    enterprise_id: str | None = None

    @property
    def org_wide(self) -> bool:
        """An org-wide install: an org, and no workspace of its own."""
        return self.team_id is None and self.enterprise_id is not None


@dataclass(frozen=True)
class IssuedToken:
    """A bot token the double's oauth.v2.access handed out, with its installation."""

    target: InstallTarget
    refresh_token: str | None


@dataclass(frozen=True)
class ResponseUrlPost:
    """One POST to a `response_url` (what Bolt's `respond()` sent)."""

    token: str
    body: JsonObject


@dataclass(frozen=True)
class CannedResponse:
    """A Web API answer a test chose in place of the default one."""

    body: JsonObject
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SlackUser:
    """A workspace member as `users.info` describes it."""

    id: str
    name: str
    is_admin: bool = False
    is_owner: bool = False
    is_primary_owner: bool = False

    def to_json(self) -> JsonObject:
        """The `user` object of a `users.info` answer."""
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.name.title(),
            "deleted": False,
            "is_bot": False,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": self.is_primary_owner,
            "tz": "Europe/London",
            "profile": {"display_name": self.name, "real_name": self.name.title()},
        }


class SlackDelivery(NamedTuple):
    """What a Bolt app answered to a request the helpers sent it as Slack would."""

    status: int
    body: str
    elapsed: float


def json_response(
    body: JsonObject, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer whose Content-Type is exactly `application/json`, as Slack sends it.

    `web.json_response` adds `; charset=utf-8`; bytes plus `content_type` do not.
    """
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers=dict(headers or {}),
        content_type=JSON_CONTENT_TYPE,
    )


class SlackDouble(LoopbackServer):
    """Slack's Web API, response URLs and Socket Mode, served on 127.0.0.1 for one test.

    Use as `async with SlackDouble() as double:`; point clients at `double.api_url`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[ApiCall] = []
        self.responses: list[ResponseUrlPost] = []
        self.acks: dict[str, JsonObject] = {}
        self.socket_connections = 0
        """How many websockets have connected and been greeted, ever (reconnects count)."""
        self.users: dict[str, SlackUser] = {}
        self.expired_response_urls: set[str] = set()
        """Tokens whose response_url answers 404 `expired_url`, as Slack's do after 30 minutes."""
        self.posted: dict[str, list[JsonObject]] = {}
        """The messages chat.postMessage made, by channel, oldest first (history reads them)."""
        self.install_target = InstallTarget()
        """Where the next OAuth code exchanges install the app (`install_into`)."""
        self.rotating_expires_in: int | None = None
        """Set (`rotate_tokens`): installs and refreshes hand out tokens expiring this late."""
        self.issued: dict[str, IssuedToken] = {}
        """Every rotating bot token oauth.v2.access handed out, by token."""
        self.expired_tokens: set[str] = set()
        """Tokens every call with answers `token_expired` (`expire_token`)."""
        self.org_grants: dict[str, list[str]] = {}
        """The workspaces each Grid org granted its org-wide install, for auth.teams.list."""
        self._used_refresh_tokens: set[str] = set()
        self._token_serial = 0
        self._fixed: dict[str, CannedResponse] = {}
        self._one_shot: dict[str, deque[CannedResponse]] = {}
        self._held: dict[str, asyncio.Event] = {}
        self._held_replies: dict[str, asyncio.Event] = {}
        self._last_ts_micros = 0
        self._changed = asyncio.Condition()
        self._defaults: dict[str, Callable[[JsonObject], JsonObject]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": lambda _params: {"ok": True, "message_ts": self.next_ts()},
            "chat.update": self._chat_update,
            "conversations.open": self._conversations_open,
            "conversations.join": self._conversations_join,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "views.open": self._view_answer,
            "views.publish": self._view_answer,
            "views.update": self._view_answer,
            "users.info": self._users_info,
            "apps.connections.open": lambda _params: {"ok": True, "url": self.socket_url},
            "oauth.v2.access": self._oauth_v2_access,
        }
        self._token_aware: dict[str, Callable[[JsonObject, str | None], JsonObject]] = {
            "auth.teams.list": self._auth_teams_list,
        }
        """Defaults that answer by the calling token (which org it belongs to)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """The Web API, response URLs and the Socket Mode websocket."""
        router.add_post("/api/{method}", self._handle_api)
        router.add_get("/api/{method}", self._handle_api)
        router.add_post("/respond/{token}", self._handle_response_url)
        router.add_get(SOCKET_PATH, self._handle_socket)

    # -- addresses ---------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Web API base URL for `AsyncWebClient(base_url=...)`; the trailing slash matters."""
        return f"{self.url}/api/"

    @property
    def socket_url(self) -> str:
        """The Socket Mode websocket URL `apps.connections.open` hands out."""
        return f"ws://127.0.0.1:{self._port}{SOCKET_PATH}"

    @property
    def response_url(self) -> str:
        """A response URL whose posts are recorded under the token `default`."""
        return self.response_url_for(DEFAULT_RESPONSE_TOKEN)

    def response_url_for(self, token: str) -> str:
        """A response URL whose posts are recorded under `token` (one per interaction)."""
        return f"{self.url}/respond/{token}"

    def next_ts(self) -> str:
        """A fresh message timestamp, increasing like Slack's (`1733300000.000100`, ...)."""
        # The wall clock, as Slack's are (history reads since a time), and never repeating.
        micros = max(time.time_ns() // 1000, self._last_ts_micros + TS_STEP_MICROS)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # -- Web API -----------------------------------------------------------------------------

    def respond(
        self,
        method: str,
        body: JsonObject,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        once: bool = False,
    ) -> None:
        """Answer `method` with `body` from now on (or only the next call, when `once`)."""
        canned = CannedResponse(body, status, dict(headers or {}))
        if once:
            self._one_shot.setdefault(method, deque()).append(canned)
        else:
            self._fixed[method] = canned

    def restore(self, method: str) -> None:
        """Answer `method` as Slack normally does again, dropping what `respond` set."""
        self._fixed.pop(method, None)
        self._one_shot.pop(method, None)

    def rate_limit_once(self, method: str, retry_after: int = 0) -> None:
        """Answer the next call to `method` with HTTP 429 `ratelimited` and a Retry-After."""
        self.respond(
            method,
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": str(retry_after)},
            once=True,
        )

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
    ) -> SlackUser:
        """Make `users.info` describe `user_id` this way (others are plain members)."""
        user = SlackUser(user_id, name, is_admin, is_owner, is_primary_owner)
        self.users[user_id] = user
        return user

    def hold(self, method: str) -> asyncio.Event:
        """Make Slack slow at `method`: calls are recorded at once, answered once the event is set.

        Lets a test see what a Bolt app does while a Web API call is still under way (the ack
        must not wait for it), without guessing at durations.
        """
        gate = asyncio.Event()
        self._held[method] = gate
        return gate

    def hold_reply(self, method: str) -> asyncio.Event:
        """Make Slack take `method` calls and then go quiet: the call has its effect (a message
        is posted), the answer waits for the event. A bot killed meanwhile never hears of it.
        """
        gate = asyncio.Event()
        self._held_replies[method] = gate
        return gate

    def calls_to(self, method: str) -> list[ApiCall]:
        """The calls received for `method`, in order."""
        return [call for call in self.calls if call.method == method]

    async def wait_for(
        self, method: str, count: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[ApiCall]:
        """Wait until `method` was called at least `count` times; return those calls."""
        await self._wait_until(
            lambda: len(self.calls_to(method)) >= count,
            timeout,
            lambda: f"{count} {method} call(s); got {[call.method for call in self.calls]}",
        )
        return self.calls_to(method)

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _request_params(request)
        authorization = request.headers.get("Authorization")
        self.calls.append(ApiCall(method, params, authorization))
        await self._notify()
        token = _bearer(authorization) or params.get("token")
        if token is not None and token in self.expired_tokens:
            return json_response({"ok": False, "error": "token_expired"})
        gate = self._held.get(method)
        if gate is not None:
            await gate.wait()
        queued = self._one_shot.get(method)
        canned = queued.popleft() if queued else self._fixed.get(method)
        if canned is not None:
            return json_response(canned.body, canned.status, canned.headers)
        if authorization is None and "token" not in params:
            return json_response({"ok": False, "error": "not_authed"})
        token_aware = self._token_aware.get(method)
        if token_aware is not None:
            return json_response(token_aware(params, token))
        default = self._defaults.get(method)
        if default is None:
            # Loud on purpose: a call the double does not know is a test that needs `respond`.
            return json_response({"ok": False, "error": "unknown_method"})
        answer = default(params)
        quiet = self._held_replies.get(method)
        if quiet is not None:
            await quiet.wait()
        return json_response(answer)

    def _auth_test(self, _params: JsonObject) -> JsonObject:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "AWS Quiz Test",
            "user": "awsquiz",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: JsonObject) -> JsonObject:
        ts = self.next_ts()
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": params.get("text", ""),
            "blocks": _decoded(params.get("blocks", [])),
            "ts": ts,
        }
        metadata = _decoded(params.get("metadata"))
        if isinstance(metadata, dict):
            message["metadata"] = metadata
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        self.posted.setdefault(str(params.get("channel")), []).append(message)
        return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}

    def _conversations_history(self, params: JsonObject) -> JsonObject:
        """Top-level messages since `oldest`, newest first, as Slack pages them."""
        posted = self.posted.get(str(params.get("channel")), [])
        return _history_page([m for m in posted if "thread_ts" not in m], params)

    def _conversations_replies(self, params: JsonObject) -> JsonObject:
        """A thread's replies since `oldest` (the parent is not among them here)."""
        thread = str(params.get("ts"))
        posted = self.posted.get(str(params.get("channel")), [])
        return _history_page([m for m in posted if m.get("thread_ts") == thread], params)

    def _chat_update(self, params: JsonObject) -> JsonObject:
        message = {"text": params.get("text", ""), "blocks": _decoded(params.get("blocks", []))}
        return {
            "ok": True,
            "channel": params.get("channel"),
            "ts": params.get("ts"),
            "text": params.get("text", ""),
            "message": message,
        }

    def _conversations_open(self, params: JsonObject) -> JsonObject:
        first_user = str(params.get("users", USER_ID)).split(",")[0]
        # Deterministic, so a test can predict the DM channel of a user: U0ALICE -> D0ALICE.
        return {"ok": True, "channel": {"id": f"D{first_user[1:]}"}}

    def _conversations_join(self, params: JsonObject) -> JsonObject:
        return {"ok": True, "channel": {"id": params.get("channel"), "is_member": True}}

    def _conversations_info(self, params: JsonObject) -> JsonObject:
        # A public channel the bot has not joined yet: the most common case for `daily on`.
        channel = str(params.get("channel", CHANNEL_ID))
        details = {"id": channel, "is_private": False, "is_member": False, "is_archived": False}
        return {"ok": True, "channel": details}

    def _view_answer(self, params: JsonObject) -> JsonObject:
        view = _decoded(params.get("view", {}))
        view_id = params.get("view_id") or f"V{uuid.uuid4().hex[:10].upper()}"
        return {"ok": True, "view": {**view, "id": view_id, "team_id": TEAM_ID}}

    def _users_info(self, params: JsonObject) -> JsonObject:
        user_id = str(params.get("user", ""))
        user = self.users.get(user_id) or SlackUser(user_id, f"user-{user_id.lower()}")
        return {"ok": True, "user": user.to_json()}

    def _oauth_v2_access(self, params: JsonObject) -> JsonObject:
        if params.get("grant_type") == "refresh_token":
            return self._refresh(str(params.get("refresh_token", "")))
        target = self.install_target
        answer: JsonObject = {
            "ok": True,
            "app_id": APP_ID,
            "authed_user": {"id": USER_ID},
            "scope": "commands,chat:write,im:history,im:write,users:read",
            "token_type": "bot",
            "access_token": INSTALLED_BOT_TOKEN,
            "bot_user_id": BOT_USER_ID,
            "team": {"id": target.team_id, "name": "AWS Quiz Test"} if target.team_id else None,
            "enterprise": (
                {"id": target.enterprise_id, "name": "AWS Quiz Org"}
                if target.enterprise_id
                else None
            ),
            "is_enterprise_install": target.org_wide,
        }
        if self.rotating_expires_in is not None:
            answer |= self._rotating_pair(target)
        elif target.enterprise_id is not None:
            # Its own token, so that auth.teams.list can tell which org is asking.
            token = f"xoxb-grid-{target.enterprise_id}-{target.team_id or 'org'}".lower()
            self.issued[token] = IssuedToken(target, None)
            answer["access_token"] = token
        return answer

    # -- Enterprise Grid and rotating tokens ---------------------------------------------------

    def install_into(
        self, *, team_id: str | None = TEAM_ID, enterprise_id: str | None = None
    ) -> None:
        """Make the next OAuth code exchanges install into this workspace or org.

        `enterprise_id` with a team: a workspace of an Enterprise Grid org installs the app for
        itself. `enterprise_id` and `team_id=None`: the org installs it org-wide, as
        oauth.v2.access says so (`team: null`, `is_enterprise_install: true`).
        """
        self.install_target = InstallTarget(team_id, enterprise_id)

    def rotate_tokens(self, expires_in: int = ROTATING_TOKEN_SECONDS) -> None:
        """Hand out rotating tokens from now on, as an app with token rotation turned on gets:
        an `xoxe.xoxb-` token expiring in `expires_in` seconds and a single-use refresh token.
        """
        self.rotating_expires_in = expires_in

    def expire_token(self, token: str) -> None:
        """Make `token` expired: every call made with it answers `token_expired`."""
        self.expired_tokens.add(token)

    def grant_org(self, enterprise_id: str, *team_ids: str) -> None:
        """The org's admins granted its org-wide install these workspaces (auth.teams.list)."""
        self.org_grants[enterprise_id] = list(team_ids)

    def refreshes(self) -> list[ApiCall]:
        """The oauth.v2.access calls that refreshed a token (`grant_type=refresh_token`)."""
        return [
            call
            for call in self.calls_to("oauth.v2.access")
            if call.params.get("grant_type") == "refresh_token"
        ]

    def _rotating_pair(self, target: InstallTarget) -> JsonObject:
        """A fresh rotating bot token and its refresh token for `target`'s installation."""
        self._token_serial += 1
        token = f"xoxe.xoxb-1-{ROTATING_TOKEN_BODY}{self._token_serial:04d}"
        refresh = f"xoxe-1-{ROTATING_REFRESH_BODY}{self._token_serial:04d}"
        self.issued[token] = IssuedToken(target, refresh)
        return {
            "access_token": token,
            "refresh_token": refresh,
            "expires_in": self.rotating_expires_in,
        }

    def _refresh(self, refresh_token: str) -> JsonObject:
        """oauth.v2.access with a refresh token: a new pair, the old refresh token used up."""
        owner = next((t for t in self.issued.values() if t.refresh_token == refresh_token), None)
        if owner is None or refresh_token in self._used_refresh_tokens:
            return {"ok": False, "error": "invalid_refresh_token"}
        self._used_refresh_tokens.add(refresh_token)
        target = owner.target
        return {
            "ok": True,
            "app_id": APP_ID,
            "token_type": "bot",
            "scope": "commands,chat:write,im:history,im:write,users:read",
            "bot_user_id": BOT_USER_ID,
            "team": {"id": target.team_id} if target.team_id else None,
            "enterprise": {"id": target.enterprise_id} if target.enterprise_id else None,
            "is_enterprise_install": target.org_wide,
            **self._rotating_pair(target),
        }

    def _auth_teams_list(self, _params: JsonObject, token: str | None) -> JsonObject:
        """The workspaces an org-wide token's org granted; any other token is refused."""
        issued = self.issued.get(token or "")
        org = issued.target.enterprise_id if issued and issued.target.org_wide else None
        if org is None:
            return {"ok": False, "error": "not_allowed_token_type"}
        teams = [{"id": team, "name": f"Workspace {team}"} for team in self.org_grants.get(org, [])]
        return {"ok": True, "teams": teams, "response_metadata": {"next_cursor": ""}}

    # -- response_url ------------------------------------------------------------------------

    async def wait_for_responses(
        self, count: int = 1, timeout: float = DEFAULT_TIMEOUT, token: str | None = None
    ) -> list[ResponseUrlPost]:
        """Wait until `count` response_url posts arrived (for `token`, if given); return them."""

        def matching() -> list[ResponseUrlPost]:
            return [post for post in self.responses if token is None or post.token == token]

        await self._wait_until(
            lambda: len(matching()) >= count,
            timeout,
            lambda: f"{count} response_url post(s); got {self.responses}",
        )
        return matching()

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token in self.expired_response_urls:
            return json_response({"ok": False, "error": "expired_url"}, status=404)
        self.responses.append(ResponseUrlPost(token, await request.json()))
        await self._notify()
        return json_response({"ok": True})

    # -- Socket Mode -------------------------------------------------------------------------

    async def wait_for_socket(self, count: int = 1, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until `count` websockets have connected in total and one is open now."""
        await self._wait_until(
            lambda: self.socket_connections >= count and bool(self._open_sockets),
            timeout,
            lambda: f"socket connection #{count}; got {self.socket_connections}",
        )

    async def socket_send(
        self,
        envelope_type: str,
        payload: JsonObject,
        *,
        retry_attempt: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> str:
        """Send an envelope (`slash_commands`, `interactive`, `events_api`); return its id."""
        await self.wait_for_socket(timeout=timeout)
        envelope_id = str(uuid.uuid4())
        envelope: JsonObject = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            # Slack lets commands and interactions carry a response in the ack; events do not.
            "accepts_response_payload": envelope_type != "events_api",
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        await self._open_sockets[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def socket_ack(self, envelope_id: str, timeout: float = DEFAULT_TIMEOUT) -> JsonObject:
        """Wait for the ack of `envelope_id`; return its payload (`{}` for a bare ack)."""
        await self._wait_until(
            lambda: envelope_id in self.acks,
            timeout,
            lambda: f"the ack of envelope {envelope_id}; got acks for {list(self.acks)}",
        )
        payload: JsonObject = self.acks[envelope_id].get("payload") or {}
        return payload

    async def socket_close(self, code: int = aiohttp.WSCloseCode.GOING_AWAY) -> None:
        """Close every open websocket from the server side, as Slack does now and then."""
        for socket in list(self._open_sockets):
            await socket.close(code=code)

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        # autoping answers slack_sdk's "sdk-ping-pong:<t>" pings with matching pongs.
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        await socket.send_str(json.dumps(_hello()))
        self._open_sockets.append(socket)
        self.socket_connections += 1
        await self._notify()
        try:
            async for message in socket:
                if message.type == aiohttp.WSMsgType.TEXT:
                    ack = json.loads(message.data)
                    if "envelope_id" in ack:
                        self.acks[ack["envelope_id"]] = ack
                        await self._notify()
        finally:
            self._open_sockets.remove(socket)
        return socket

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


def _bearer(authorization: str | None) -> str | None:
    """The token of a `Bearer` Authorization header (None for Basic auth or none)."""
    if authorization is None or not authorization.startswith("Bearer "):
        return None
    return authorization.removeprefix("Bearer ")


async def _request_params(request: web.Request) -> JsonObject:
    """Query string, form fields and JSON body of an API call, merged (slack_sdk uses all three)."""
    params: JsonObject = dict(request.query)
    if request.content_type == JSON_CONTENT_TYPE:
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.can_read_body:
        params.update(await request.post())
    return params


def _history_page(messages: list[JsonObject], params: JsonObject) -> JsonObject:
    """One page of `messages` newer than `oldest`, newest first; metadata only when asked."""
    oldest = float(params.get("oldest") or 0)
    limit = int(params.get("limit") or 100)
    start = int(params.get("cursor") or 0)
    with_metadata = str(params.get("include_all_metadata")).lower() in {"1", "true"}
    newer = [m for m in reversed(messages) if float(m["ts"]) > oldest]
    page = newer[start : start + limit]
    if not with_metadata:
        page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
    more = start + limit < len(newer)
    cursor = str(start + limit) if more else ""
    return {
        "ok": True,
        "messages": page,
        "has_more": more,
        "response_metadata": {"next_cursor": cursor},
    }


def _decoded(value: Any) -> Any:
    """A JSON-valued argument (blocks, view) as an object: form-encoded calls send it as text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _hello() -> JsonObject:
    return {
        "type": "hello",
        "num_connections": 1,
        "debug_info": {"host": "applink-double", "approximate_connection_time": 18060},
        "connection_info": {"app_id": APP_ID},
    }


# -- Bolt wiring ---------------------------------------------------------------------------


@asynccontextmanager
async def serve_bolt_http(app: AsyncApp) -> AsyncIterator[str]:
    """Serve the app as `awsquiz run` does, on a free loopback port; yield the URL Slack
    would post to."""
    runner = web.AppRunner(http.web_app(app, BOLT_EVENTS_PATH), shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{BOLT_EVENTS_PATH}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def connect_socket_mode(
    app: AsyncApp, double: SlackDouble, app_token: str = APP_TOKEN
) -> AsyncIterator[AsyncSocketModeHandler]:
    """Connect `app` to the double over Socket Mode; yield the handler once greeted.

    `apps.connections.open` goes through `app.client`, so the app's `AsyncWebClient` must have
    `base_url=double.api_url`. Build the handler inside a running loop: its client starts a task
    and an aiohttp session in its constructor.
    """
    handler = AsyncSocketModeHandler(app, app_token=app_token)
    try:
        # connect() retries forever when apps.connections.open fails; a test should fail instead.
        async with asyncio.timeout(DEFAULT_TIMEOUT):
            await handler.connect_async()  # type: ignore[no-untyped-call]  # untyped in Bolt
        await double.wait_for_socket()
        yield handler
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        # close_async() cancels the client's tasks without awaiting them: await them here, so
        # none is still pending when the test's event loop closes.
        client = handler.client
        tasks = (client.message_processor, client.current_session_monitor, client.message_receiver)
        async with asyncio.timeout(DEFAULT_TIMEOUT):
            await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)


# -- acting as Slack towards a Bolt app over HTTP ------------------------------------------


def sign(secret: str, body: str, timestamp: str) -> str:
    """The `X-Slack-Signature` Slack would send for `body` at `timestamp`."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    if signature is None:
        raise ValueError("slack_sdk produced no signature")
    return signature


def signed_headers(
    secret: str, body: str, content_type: str, timestamp: str | None = None
) -> dict[str, str]:
    """Headers of a signed Slack request; `timestamp` defaults to now (pass an old one: replay)."""
    ts = timestamp or str(int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign(secret, body, ts),
    }


async def post_to_bolt(url: str, body: str, headers: Mapping[str, str]) -> SlackDelivery:
    """POST `body` to a Bolt app; return its status, body and how long it took to answer."""
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body.encode(), headers=dict(headers)) as response,
    ):
        text = await response.text()
    return SlackDelivery(response.status, text, time.perf_counter() - started)


async def post_slash_command(
    url: str,
    secret: str,
    *,
    team_id: str = TEAM_ID,
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    text: str = "",
    response_url: str,
    command: str = "/awsquiz",
    timestamp: str | None = None,
) -> SlackDelivery:
    """Deliver a slash command as Slack does: a signed, form-encoded body."""
    payload = slash_command(
        team_id=team_id,
        user_id=user_id,
        channel_id=channel_id,
        text=text,
        response_url=response_url,
        command=command,
    )
    body = urlencode(payload)
    headers = signed_headers(secret, body, "application/x-www-form-urlencoded", timestamp)
    return await post_to_bolt(url, body, headers)


async def post_interaction(
    url: str, secret: str, payload: JsonObject, *, timestamp: str | None = None
) -> SlackDelivery:
    """Deliver an interaction (`block_actions`, `view_submission`): form field `payload=` JSON."""
    body = urlencode({"payload": json.dumps(payload)})
    headers = signed_headers(secret, body, "application/x-www-form-urlencoded", timestamp)
    return await post_to_bolt(url, body, headers)


async def post_event(
    url: str,
    secret: str,
    event: JsonObject,
    *,
    event_id: str,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    team_id: str = TEAM_ID,
    timestamp: str | None = None,
) -> SlackDelivery:
    """Deliver an Events API `event_callback`; `retry_num` makes it a redelivery."""
    body = json.dumps(event_callback(event, event_id=event_id, team_id=team_id))
    headers = signed_headers(secret, body, JSON_CONTENT_TYPE, timestamp)
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return await post_to_bolt(url, body, headers)


# -- payload builders ----------------------------------------------------------------------


def slash_command(
    *,
    team_id: str = TEAM_ID,
    user_id: str = USER_ID,
    user_name: str = USER_NAME,
    channel_id: str = CHANNEL_ID,
    channel_name: str = CHANNEL_NAME,
    text: str = "",
    response_url: str,
    command: str = "/awsquiz",
) -> dict[str, str]:
    """A slash command's fields: the HTTP form body, or a Socket Mode `slash_commands` payload.

    `text` is what the member typed; it is sent escaped, as Slack sends it (`slack_escaped`).
    """
    return {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": slack_escaped(text),
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": _trigger_id(),
    }


def block_actions(
    *,
    action_id: str,
    value: str,
    response_url: str,
    block_id: str = "actions",
    user_id: str = USER_ID,
    user_name: str = USER_NAME,
    team_id: str = TEAM_ID,
    channel_id: str = CHANNEL_ID,
    message_ts: str = "1700000000.000100",
) -> JsonObject:
    """A `block_actions` interaction: one button click on a message in a channel."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": _trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": CHANNEL_NAME},
        "message": {"type": "message", "ts": message_ts, "user": BOT_USER_ID, "text": ""},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "type": "button",
                "text": {"type": "plain_text", "text": action_id},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def home_block_actions(
    *,
    action_id: str,
    value: str = "",
    user_id: str = USER_ID,
    user_name: str = USER_NAME,
    team_id: str = TEAM_ID,
) -> JsonObject:
    """A `block_actions` interaction from the App Home tab: no channel and no response_url."""
    view_id = f"V{uuid.uuid4().hex[:10].upper()}"
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": _trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {"id": view_id, "team_id": team_id, "type": "home", "blocks": []},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "home",
                "value": value,
                "type": "button",
                "text": {"type": "plain_text", "text": action_id},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def view_submission(
    *,
    callback_id: str,
    values: Mapping[str, Mapping[str, str]],
    private_metadata: str = "",
    user_id: str = USER_ID,
    user_name: str = USER_NAME,
    team_id: str = TEAM_ID,
) -> JsonObject:
    """A `view_submission`: `values[block_id][action_id]` is the text typed in that input."""
    state = {
        block_id: {
            action_id: {"type": "plain_text_input", "value": text}
            for action_id, text in inputs.items()
        }
        for block_id, inputs in values.items()
    }
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "trigger_id": _trigger_id(),
        "view": {
            "id": f"V{uuid.uuid4().hex[:10].upper()}",
            "team_id": team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": state},
            "hash": uuid.uuid4().hex[:16],
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def message_im_event(
    *, text: str, user_id: str = USER_ID, channel_id: str | None = None, ts: str | None = None
) -> JsonObject:
    """A `message` event in the DM between `user_id` and the bot (`channel_type: im`).

    `text` is what the member typed; it is sent escaped, as Slack sends it (`slack_escaped`).
    """
    event_ts = ts or f"{time.time():.6f}"
    return {
        "type": "message",
        "channel": channel_id or f"D{user_id[1:]}",
        "user": user_id,
        "text": slack_escaped(text),
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": "im",
        "team": TEAM_ID,
    }


def app_home_opened_event(*, user_id: str = USER_ID, tab: str = "home") -> JsonObject:
    """An `app_home_opened` event: `user_id` opened the bot's Home (or Messages) tab."""
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": f"D{user_id[1:]}",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }


def event_callback(event: JsonObject, *, event_id: str, team_id: str = TEAM_ID) -> JsonObject:
    """The `event_callback` wrapper of an event: HTTP body, or `events_api` envelope payload."""
    return {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True, "enterprise_id": None}
        ],
        "is_ext_shared_channel": False,
    }


def slack_escaped(typed: str) -> str:
    """Text typed in Slack as Slack delivers it: `&`, `<` and `>` arrive as HTML entities.

    `<@U..>`, `<#C..>` and `<!here>` in `typed` stand for mentions picked in the composer: Slack
    writes those control sequences itself, so they pass through unescaped.
    """
    kept: list[str] = []
    start = 0
    for control in SLACK_CONTROL.finditer(typed):
        kept += [_entities(typed[start : control.start()]), control.group()]
        start = control.end()
    return "".join([*kept, _entities(typed[start:])])


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _trigger_id() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"
