"""The Slack app manifest: paste it into api.slack.com/apps to create the app in one step."""

from __future__ import annotations

import json
from typing import Final, NotRequired, TypedDict
from urllib.parse import urlsplit

from bot.adapters.slack.ids import OAUTH_REDIRECT_PATH

SLASH_COMMAND: Final = "/awsquiz"
COMMAND_DESCRIPTION: Final = "AWS and DevOps interview practice: questions, grades, interviews"
COMMAND_USAGE_HINT: Final = "[topic] [level] | answer ... | interview ... | daily on HH:MM | help"
APP_DESCRIPTION: Final = "Interview practice for AWS and DevOps, graded at once."
LONG_DESCRIPTION: Final = (
    "awsquiz is an interview coach for cloud and DevOps engineers, right in Slack. Type "
    "*/awsquiz* for a question on EC2, ECS, Lambda, S3, Step Functions, CloudWatch, Terraform "
    "and more, by topic and difficulty, answer in your own words, and get a score from 0 to "
    "100 at once: the key concepts you covered and missed, anything you got wrong, the "
    "reference answer and a link to the AWS documentation.\n\n"
    "Practise alone with a mock interview in your direct messages (hints, skip, a summary at "
    "the end), or turn on a daily question in a channel: it is posted at your local time, "
    "everyone answers privately, and the answer and the day's ranking are revealed when it "
    "closes, with streaks and leaderboards to keep a study group going.\n\n"
    "awsquiz reads only what is sent to it: its slash command, its buttons, messages in its "
    "own DMs, and, to never post a daily question twice after a restart, its own messages in "
    "the channels it posts in."
)
BACKGROUND_COLOR: Final = "#232f3e"
BOT_SCOPES: Final = (
    "commands",
    "chat:write",
    "im:history",
    "im:write",
    "users:read",
    "channels:join",
    "channels:read",
    "groups:read",
    # Read only to look for a daily post a killed process may have sent (its metadata key),
    # before taking its claim over: nothing twice.
    "channels:history",
    "groups:history",
)
# app_uninstalled and tokens_revoked: a workspace that removes the app stops its daily posts.
BOT_EVENTS: Final = ("app_home_opened", "message.im", "app_uninstalled", "tokens_revoked")


class DisplayInformation(TypedDict):
    """How the app presents itself."""

    name: str
    description: str
    long_description: str
    background_color: str


class BotUser(TypedDict):
    """The bot user's name and presence."""

    display_name: str
    always_online: bool


class SlashCommand(TypedDict):
    """One slash command; url only in HTTP mode (Socket Mode delivers over the socket)."""

    command: str
    description: str
    usage_hint: str
    should_escape: bool
    url: NotRequired[str]


class AppHome(TypedDict):
    """Which App Home tabs exist."""

    home_tab_enabled: bool
    messages_tab_enabled: bool
    messages_tab_read_only_enabled: bool


class Features(TypedDict):
    """Bot user, slash commands and App Home."""

    bot_user: BotUser
    slash_commands: list[SlashCommand]
    app_home: AppHome


class Scopes(TypedDict):
    """OAuth scopes of the bot token."""

    bot: list[str]


class OAuthConfig(TypedDict):
    """What the bot token may do, and where Slack sends an installing workspace back."""

    scopes: Scopes
    redirect_urls: NotRequired[list[str]]


class EventSubscriptions(TypedDict):
    """Events the bot receives."""

    bot_events: list[str]
    request_url: NotRequired[str]


class Interactivity(TypedDict):
    """Buttons and modals."""

    is_enabled: bool
    request_url: NotRequired[str]


class Settings(TypedDict):
    """Delivery: Socket Mode, or HTTP request URLs."""

    event_subscriptions: EventSubscriptions
    interactivity: Interactivity
    org_deploy_enabled: bool
    socket_mode_enabled: bool
    token_rotation_enabled: bool


class Manifest(TypedDict):
    """A Slack app manifest."""

    display_information: DisplayInformation
    features: Features
    oauth_config: OAuthConfig
    settings: Settings


def manifest(
    name: str = "awsquiz",
    request_url: str | None = None,
    *,
    org_deploy: bool = False,
    token_rotation: bool = False,
) -> Manifest:
    """The app manifest: Socket Mode without request_url, HTTP mode (all URLs) with one.

    `org_deploy` lets an Enterprise Grid org install the app org-wide, for all or some of its
    workspaces at once. `token_rotation` makes Slack issue tokens that expire after 12 hours,
    refreshed by awsquiz; only installs over OAuth store the refresh token, so it needs a
    request URL. Slack cannot turn rotation off again for an app once it is on.

    Raises ValueError for a request URL that is not https (Slack refuses any other), and for
    token rotation without one.
    """
    if request_url is not None:
        parts = urlsplit(request_url)
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError(f"the request URL must be an https URL, not {request_url!r}")
    elif token_rotation:
        raise ValueError(
            "token rotation needs the OAuth install of HTTP mode: give the request URL too "
            "(a bot token set in SLACK_BOT_TOKEN cannot be refreshed)"
        )
    command = SlashCommand(
        command=SLASH_COMMAND,
        description=COMMAND_DESCRIPTION,
        usage_hint=COMMAND_USAGE_HINT,
        # Escaped text turns @mentions into <@U123|name>, which `stats` needs to read a user id.
        should_escape=True,
    )
    events = EventSubscriptions(bot_events=list(BOT_EVENTS))
    interactivity = Interactivity(is_enabled=True)
    oauth = OAuthConfig(scopes=Scopes(bot=list(BOT_SCOPES)))
    if request_url is not None:
        command["url"] = request_url
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
        # Multi-workspace installs come back here (HTTP mode with SLACK_CLIENT_ID).
        origin = urlsplit(request_url)
        oauth["redirect_urls"] = [f"{origin.scheme}://{origin.netloc}{OAUTH_REDIRECT_PATH}"]
    return Manifest(
        display_information=DisplayInformation(
            name=name,
            description=APP_DESCRIPTION,
            long_description=LONG_DESCRIPTION,
            background_color=BACKGROUND_COLOR,
        ),
        features=Features(
            bot_user=BotUser(display_name=name, always_online=True),
            slash_commands=[command],
            app_home=AppHome(
                home_tab_enabled=True,
                messages_tab_enabled=True,
                # Interviews happen in the Messages tab, so members must be able to type there.
                messages_tab_read_only_enabled=False,
            ),
        ),
        oauth_config=oauth,
        settings=Settings(
            event_subscriptions=events,
            interactivity=interactivity,
            org_deploy_enabled=org_deploy,
            socket_mode_enabled=request_url is None,
            token_rotation_enabled=token_rotation,
        ),
    )


def manifest_json(
    name: str = "awsquiz",
    request_url: str | None = None,
    *,
    org_deploy: bool = False,
    token_rotation: bool = False,
) -> str:
    """The manifest as indented JSON, the format Slack's app creation page accepts."""
    chosen = manifest(name, request_url, org_deploy=org_deploy, token_rotation=token_rotation)
    return json.dumps(chosen, indent=2, ensure_ascii=False)
