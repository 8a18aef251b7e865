"""Keep secrets out of the logs, whichever library writes the record.

Libraries log at DEBUG what they send and receive: slack_sdk logs OAuth responses that carry
bot tokens, database drivers log statement parameters. Every log record is redacted as it is
made, so no handler (the console, a file, pytest's capture) ever sees a secret.

Some secrets live in URLs, and only for minutes, but anyone holding one may post as the bot
until then: a Discord interaction's token (in `/webhooks/{application id}/{token}` and
`/interactions/{id}/{token}/callback`, and in the gateway's INTERACTION_CREATE payload) and
a Slack response_url (`https://hooks.slack.com/commands/{team}/{id}/{secret}`, and
`/actions/...` for buttons). Those are redacted by shape, keeping the rest of the URL readable:
`/webhooks/123/[redacted]/messages/@original`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, Final

REDACTED: Final = "[redacted]"
MIN_SECRET_LENGTH: Final = 6
"""Shorter configured values are not redacted: replacing 'abc' everywhere would garble logs."""

# Token shapes, for secrets that never pass through settings (tokens of OAuth installs).
TOKEN_PATTERN: Final = re.compile(
    r"xox[a-z]-[A-Za-z0-9-]{6,}"  # Slack bot, user and configuration tokens
    r"|xapp-[A-Za-z0-9-]{6,}"  # Slack app-level tokens
    r"|[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"  # Discord bot tokens
)
_URL_SEGMENT: Final = r"[^/?#\s'\"\\<>()\[\]{},;]+"
"""One path segment as it appears in a log line: up to the next delimiter of URL or repr."""
SECRET_IN_URL: Final = re.compile(
    r"(?P<kept>"
    r"/webhooks/\d+/"  # Discord: a webhook's or an interaction's follow-ups
    r"|/interactions/\d+/"  # Discord: an interaction's response (then /callback)
    rf"|/(?:commands|actions)/{_URL_SEGMENT}/\d+/"  # Slack: a response_url, past the team
    rf"){_URL_SEGMENT}"
)
SECRET_FIELD: Final = re.compile(
    r"""(?P<kept>(?P<q>['"])token(?P=q):\s*(?P<v>['"]))[^'"\\]+(?P=v)"""
)
"""A `token` field of a logged payload (dict or JSON): a Discord interaction's token, Slack's
(deprecated) verification token."""

RecordFactory = Callable[..., logging.LogRecord]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every given secret, every token-shaped string and every secret part of a URL
    or a payload's token field in `text`."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = TOKEN_PATTERN.sub(REDACTED, text)
    text = SECRET_IN_URL.sub(rf"\g<kept>{REDACTED}", text)
    return SECRET_FIELD.sub(rf"\g<kept>{REDACTED}\g<v>", text)


class LogRedaction:
    """Redacts secrets from every log record while installed."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        known = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        self.secrets = tuple(sorted(known, key=len, reverse=True))
        self._previous: RecordFactory | None = None

    def install(self) -> None:
        """Redact the records made from now on (by wrapping the log record factory)."""
        make_record = self._previous = logging.getLogRecordFactory()

        def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            self.clean(record)
            return record

        logging.setLogRecordFactory(redacting_factory)

    def uninstall(self) -> None:
        """Put the previous record factory back."""
        if self._previous is not None:
            logging.setLogRecordFactory(self._previous)
            self._previous = None

    def clean(self, record: logging.LogRecord) -> None:
        """Redact one record's message and exception text in place."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed format string is logging's to report, at emit time
            return
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[0] is not None:
            # An exception's message may quote a request or a response: format it now, redacted.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = redact(text, self.secrets), None
