"""What an installer's browser shows when an install over OAuth does not finish.

A member who presses Cancel on Slack's consent page comes back with `error=access_denied`;
Bolt's own page then says "Oops, Something Went Wrong!" with the error code. Here it says
that nothing was installed and how to start again, and the other failures (an expired or
reused link, another browser, a refused code) say what happened in words. A finished install
keeps Bolt's page, which opens Slack.
"""

from __future__ import annotations

import html
import logging
from typing import Final

from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.response import BoltResponse

CANCELLED: Final = "access_denied"
"""The `error` Slack sends back when the installer pressed Cancel."""
CANCELLED_TITLE: Final = "Installation cancelled"
CANCELLED_TEXT: Final = (
    "You cancelled the installation, so awsquiz was not added to your Slack workspace and "
    "nothing about it was stored."
)
FAILED_TITLE: Final = "The installation did not finish"
FAILURE_TEXT: Final = {
    "invalid_state": "This installation link has expired or was already used.",
    "invalid_browser": "The installation was started in another browser, or the page was reloaded.",
    "missing_code": "Slack did not send the installation back to us.",
    "invalid_code": "Slack did not confirm the installation.",
    "storage_error": "We could not save the installation on our side.",
}
OTHER_FAILURE: Final = "Slack did not complete the installation."
NOTHING_INSTALLED: Final = "Nothing was installed."
MAX_LOGGED_REASON: Final = 64
"""The reason comes from the redirect's query string, which anyone can write: log its start."""

log = logging.getLogger(__name__)


def callback_options() -> AsyncCallbackOptions:
    """Bolt's OAuth callbacks: its own page on success, ours on failure."""
    return AsyncCallbackOptions(success=_success, failure=_failure)


async def _success(args: AsyncSuccessArgs) -> BoltResponse:
    return await args.default.success(args)


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    reason = args.reason[:MAX_LOGGED_REASON]
    if args.reason == CANCELLED:
        log.info("slack install cancelled by the installer")
        title, text = CANCELLED_TITLE, CANCELLED_TEXT
    else:
        log.warning("slack install failed: %r", reason)
        title = FAILED_TITLE
        text = f"{FAILURE_TEXT.get(args.reason, OTHER_FAILURE)} {NOTHING_INSTALLED}"
    return BoltResponse(
        status=args.suggested_status_code,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            # The install's state cookie has done its work either way.
            "Set-Cookie": args.settings.state_utils.build_set_cookie_for_deletion(),
        },
        body=page(title, text, args.settings.install_path),
    )


def page(title: str, text: str, install_path: str) -> str:
    """A small HTML page: what happened, and a link to install again."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>awsquiz: {html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem;
       line-height: 1.5; color: #1d1c1d; }}
a {{ color: #1264a3; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(text)}</p>
<p><a href="{html.escape(install_path)}">Install awsquiz</a> whenever you are ready.</p>
</body>
</html>
"""
