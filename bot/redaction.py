"""Keep secrets out of the logs, whichever library writes the record.

Libraries log at DEBUG what they send and receive: slack_sdk logs OAuth responses that carry
bot tokens, database drivers log statement parameters. Every log record is redacted as it is
made, so no handler (the console, a file, pytest's capture) ever sees a secret.
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

RecordFactory = Callable[..., logging.LogRecord]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every given secret and every token-shaped string in `text`."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return TOKEN_PATTERN.sub(REDACTED, text)


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
