"""The Slack double works with the real slack_sdk and slack-bolt, over loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from doubles.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    CHANNEL_ID,
    DEFAULT_TIMEOUT,
    SIGNING_SECRET,
    TEAM_ID,
    USER_ID,
    JsonObject,
    SlackDouble,
    app_home_opened_event,
    block_actions,
    connect_socket_mode,
    event_callback,
    message_im_event,
    post_event,
    post_interaction,
    post_slash_command,
    serve_bolt_http,
    slack_escaped,
    slash_command,
    view_submission,
)
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltRequest, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    """A started Slack double, closed after the test."""
    async with SlackDouble() as started:
        yield started


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep loopback traffic direct: slack_sdk's Socket Mode client obeys *_PROXY variables."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


def quiz_app(double: SlackDouble, seen: asyncio.Queue[Any]) -> AsyncApp:
    """A tiny Bolt app on the double: `/awsquiz` says hi; other listeners report what they saw."""
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=double.api_url),
        signing_secret=SIGNING_SECRET,
    )

    @app.command("/awsquiz")
    async def awsquiz(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond("hi")

    @app.action("answer")
    async def answer(ack: AsyncAck, body: JsonObject) -> None:
        await ack()
        await seen.put(body["actions"][0]["value"])

    @app.view("answer_modal")
    async def answer_modal(ack: AsyncAck, view: JsonObject) -> None:
        typed = view["state"]["values"]["answer_block"]["answer_input"]["value"]
        await ack(response_action="errors", errors={"answer_block": f"too short: {typed}"})

    @app.event("message")
    async def direct_message(ack: AsyncAck, event: JsonObject) -> None:
        await ack()
        await seen.put((event["channel_type"], event["text"]))

    @app.event("app_home_opened")
    async def home_opened(ack: AsyncAck, event: JsonObject, request: AsyncBoltRequest) -> None:
        await ack()
        # Bolt keeps header values as lists.
        retry_num = request.headers.get("x-slack-retry-num", [None])[0]
        await seen.put((event["user"], retry_num))

    return app


async def next_seen(seen: asyncio.Queue[Any]) -> Any:
    """What a listener reported next, or a timeout error."""
    return await asyncio.wait_for(seen.get(), DEFAULT_TIMEOUT)


# -- Web API through AsyncWebClient --------------------------------------------------------


async def test_web_client_calls_are_recorded_with_their_authorization(
    double: SlackDouble,
) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=double.api_url)

    first = await client.chat_postMessage(channel=CHANNEL_ID, text="Question 1")
    second = await client.chat_postMessage(channel=CHANNEL_ID, text="Question 2")

    calls = await double.wait_for("chat.postMessage", count=2)
    assert [call.params["text"] for call in calls] == ["Question 1", "Question 2"]
    assert calls[0].params["channel"] == CHANNEL_ID
    assert calls[0].authorization == f"Bearer {BOT_TOKEN}"
    assert first["channel"] == CHANNEL_ID
    assert abs(float(first["ts"]) - time.time()) < 60  # a Slack ts is the posting time
    assert float(second["ts"]) > float(first["ts"])


async def test_users_info_describes_configured_users(double: SlackDouble) -> None:
    double.add_user("U0ADMIN", "bob", is_admin=True)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=double.api_url)

    admin = await client.users_info(user="U0ADMIN")
    member = await client.users_info(user=USER_ID)

    assert (admin["user"]["name"], admin["user"]["is_admin"]) == ("bob", True)
    assert member["user"]["id"] == USER_ID
    assert member["user"]["is_admin"] is False
    assert double.calls_to("users.info")[0].params == {"user": "U0ADMIN"}


async def test_default_answers_look_like_slack(double: SlackDouble) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=double.api_url)

    dm = await client.conversations_open(users=USER_ID)
    ephemeral = await client.chat_postEphemeral(channel=CHANNEL_ID, user=USER_ID, text="psst")
    modal = await client.views_open(
        trigger_id="1.2.3", view={"type": "modal", "callback_id": "answer_modal", "blocks": []}
    )

    assert dm["channel"]["id"] == "D0ALICE"
    assert ephemeral["message_ts"]
    assert modal["view"]["callback_id"] == "answer_modal"
    assert modal["view"]["id"].startswith("V")


# slack_sdk 3.48 sends client_id/secret with aiohttp.BasicAuth, deprecated since aiohttp 3.14.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_v2_access_answers_an_install(double: SlackDouble) -> None:
    client = AsyncWebClient(base_url=double.api_url)

    install = await client.oauth_v2_access(client_id="1.2", client_secret="s", code="c")

    assert (double.calls_to("oauth.v2.access")[0].authorization or "").startswith("Basic ")
    assert install["team"]["id"] == TEAM_ID
    assert install["access_token"].startswith("xoxb-")
    assert install["authed_user"]["id"] == USER_ID


async def test_an_error_override_raises_slack_api_error(double: SlackDouble) -> None:
    double.respond("chat.postMessage", {"ok": False, "error": "not_in_channel"})
    client = AsyncWebClient(token=BOT_TOKEN, base_url=double.api_url)

    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=CHANNEL_ID, text="hello")

    assert raised.value.response["error"] == "not_in_channel"


async def test_a_one_shot_429_is_retried_by_the_rate_limit_handler(double: SlackDouble) -> None:
    double.rate_limit_once("chat.postMessage", retry_after=0)
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=double.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )

    answer = await client.chat_postMessage(channel=CHANNEL_ID, text="hello")

    assert answer["ok"] is True
    assert len(double.calls_to("chat.postMessage")) == 2


async def test_api_answers_are_exactly_application_json(double: SlackDouble) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{double.api_url}auth.test", headers={"Authorization": f"Bearer {BOT_TOKEN}"}
        ) as response,
    ):
        assert response.headers["Content-Type"] == "application/json"
        assert (await response.json())["user_id"] == BOT_USER_ID


async def test_unauthenticated_and_unknown_calls_fail_like_slack(double: SlackDouble) -> None:
    with pytest.raises(SlackApiError) as unauthenticated:
        await AsyncWebClient(base_url=double.api_url).auth_test()
    with pytest.raises(SlackApiError) as unknown:
        await AsyncWebClient(token=BOT_TOKEN, base_url=double.api_url).api_call("chat.frobnicate")

    assert unauthenticated.value.response["error"] == "not_authed"
    assert unknown.value.response["error"] == "unknown_method"


def test_text_is_escaped_as_slack_escapes_it() -> None:
    typed = "a < b && c > d, <@U0BOB|bob> and <!here>, not &lt;"
    assert slack_escaped(typed) == (
        "a &lt; b &amp;&amp; c &gt; d, <@U0BOB|bob> and <!here>, not &amp;lt;"
    )
    assert slash_command(text="x&y", response_url="u")["text"] == "x&amp;y"
    assert message_im_event(text="x<y")["text"] == "x&lt;y"


async def test_a_held_method_is_recorded_at_once_and_answered_on_release(
    double: SlackDouble,
) -> None:
    gate = double.hold("users.info")
    client = AsyncWebClient(token=BOT_TOKEN, base_url=double.api_url)
    lookup = asyncio.create_task(client.users_info(user=USER_ID))

    await double.wait_for("users.info")
    assert not lookup.done()
    gate.set()

    assert (await asyncio.wait_for(lookup, DEFAULT_TIMEOUT))["user"]["id"] == USER_ID


async def test_an_expired_response_url_answers_404_and_records_nothing(
    double: SlackDouble,
) -> None:
    double.expired_response_urls.add("old")
    async with (
        aiohttp.ClientSession() as session,
        session.post(double.response_url_for("old"), json={"text": "late"}) as response,
    ):
        assert response.status == 404
        assert (await response.json())["error"] == "expired_url"
    assert double.responses == []


async def test_wait_for_times_out_with_what_it_saw(double: SlackDouble) -> None:
    with pytest.raises(TimeoutError, match=r"chat\.update"):
        await double.wait_for("chat.update", timeout=0.05)


# -- HTTP mode: the double acts as Slack towards a Bolt app --------------------------------


async def test_a_signed_slash_command_is_acked_and_respond_reaches_the_response_url(
    double: SlackDouble,
) -> None:
    app = quiz_app(double, asyncio.Queue())
    async with serve_bolt_http(app) as url:
        status, _body, _elapsed = await post_slash_command(
            url, SIGNING_SECRET, text="ec2", response_url=double.response_url
        )
        responses = await double.wait_for_responses()

    assert status == 200
    assert responses[0].body["text"] == "hi"
    assert double.calls_to("auth.test"), "Bolt asks auth.test who the bot is"


async def test_a_bad_signature_gets_401(double: SlackDouble) -> None:
    app = quiz_app(double, asyncio.Queue())
    async with serve_bolt_http(app) as url:
        status, _body, _elapsed = await post_slash_command(
            url, "not-the-secret", response_url=double.response_url
        )

    assert status == 401
    assert double.responses == []


async def test_a_stale_timestamp_gets_401(double: SlackDouble) -> None:
    app = quiz_app(double, asyncio.Queue())
    ten_minutes_ago = str(int(time.time()) - 600)
    async with serve_bolt_http(app) as url:
        delivery = await post_slash_command(
            url, SIGNING_SECRET, response_url=double.response_url, timestamp=ten_minutes_ago
        )

    assert delivery.status == 401


async def test_a_button_click_reaches_the_action_listener(double: SlackDouble) -> None:
    seen: asyncio.Queue[Any] = asyncio.Queue()
    click = block_actions(action_id="answer", value="q-42", response_url=double.response_url)
    async with serve_bolt_http(quiz_app(double, seen)) as url:
        delivery = await post_interaction(url, SIGNING_SECRET, click)
        assert await next_seen(seen) == "q-42"

    assert delivery.status == 200


async def test_a_retried_event_carries_its_retry_number(double: SlackDouble) -> None:
    seen: asyncio.Queue[Any] = asyncio.Queue()
    async with serve_bolt_http(quiz_app(double, seen)) as url:
        first = await post_event(url, SIGNING_SECRET, app_home_opened_event(), event_id="Ev01")
        retry = await post_event(
            url, SIGNING_SECRET, app_home_opened_event(), event_id="Ev01", retry_num=1
        )
        # Listeners run after the ack, concurrently: compare without order.
        deliveries = {await next_seen(seen), await next_seen(seen)}

    assert (first.status, retry.status) == (200, 200)
    assert deliveries == {(USER_ID, None), (USER_ID, "1")}


# -- Socket Mode ---------------------------------------------------------------------------


@pytest.mark.usefixtures("no_proxy")
async def test_a_socket_mode_slash_command_is_acked_and_responded(double: SlackDouble) -> None:
    app = quiz_app(double, asyncio.Queue())
    async with connect_socket_mode(app, double):
        command = slash_command(text="ec2", response_url=double.response_url)
        envelope_id = await double.socket_send("slash_commands", command)
        ack = await double.socket_ack(envelope_id)
        responses = await double.wait_for_responses()

    assert ack == {}
    assert responses[0].body["text"] == "hi"
    opened = double.calls_to("apps.connections.open")
    assert [call.authorization for call in opened] == [f"Bearer {APP_TOKEN}"]


@pytest.mark.usefixtures("no_proxy")
async def test_a_socket_ack_carries_the_listener_response(double: SlackDouble) -> None:
    submission = view_submission(
        callback_id="answer_modal", values={"answer_block": {"answer_input": "EC2"}}
    )
    async with connect_socket_mode(quiz_app(double, asyncio.Queue()), double):
        ack = await double.socket_ack(await double.socket_send("interactive", submission))

    assert ack == {"response_action": "errors", "errors": {"answer_block": "too short: EC2"}}


@pytest.mark.usefixtures("no_proxy")
async def test_a_socket_events_api_envelope_reaches_the_event_listener(
    double: SlackDouble,
) -> None:
    seen: asyncio.Queue[Any] = asyncio.Queue()
    event = event_callback(message_im_event(text="my answer"), event_id="Ev02", team_id=TEAM_ID)
    async with connect_socket_mode(quiz_app(double, seen), double):
        await double.socket_ack(await double.socket_send("events_api", event))
        assert await next_seen(seen) == ("im", "my answer")


@pytest.mark.usefixtures("no_proxy")
async def test_the_client_reconnects_after_the_server_closes_the_socket(
    double: SlackDouble,
) -> None:
    app = quiz_app(double, asyncio.Queue())
    async with connect_socket_mode(app, double):
        await double.socket_close()
        await double.wait_for_socket(count=2)
        command = slash_command(response_url=double.response_url)
        await double.socket_ack(await double.socket_send("slash_commands", command))

    assert len(double.calls_to("apps.connections.open")) == 2
