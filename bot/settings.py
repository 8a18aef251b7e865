"""Settings, read once from the environment (and an optional .env) into a typed object."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.engine.daily.service import DailyConfig
from bot.engine.errors import SettingsError
from bot.engine.quiz import MAX_ANSWER_CHARS

ENV_FILE: Final = ".env"
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SLACK_API_URL: Final = "https://slack.com/api/"
SLACK_ROLES: Final = frozenset({"admin", "owner", "primary_owner"})
DISCORD_API_URL: Final = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL: Final = "wss://gateway.discord.gg"


class Settings(BaseSettings):
    """Every setting awsquiz reads; the environment variable is the field name in capitals."""

    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: a SQLite file in the user data dir."
    )
    awsquiz_content_dirs: str = Field(
        default="", description="Extra pack directories, separated by the OS path separator."
    )
    awsquiz_max_answer_chars: int = Field(default=MAX_ANSWER_CHARS, ge=100, le=MAX_ANSWER_CHARS)
    awsquiz_interview_idle_hours: float = Field(
        default=24.0, gt=0, le=24 * 365, allow_inf_nan=False
    )
    awsquiz_removed_workspace_grace_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="Days after a workspace or server removes the bot before its members' "
        "data is deleted, unless the bot is back by then; 0 deletes it at once.",
    )
    awsquiz_daily_shared_question: bool = Field(
        default=False, description="All channels of a workspace get the same daily question."
    )
    awsquiz_daily_catch_up_minutes: int = Field(default=120, ge=0, le=24 * 60)
    awsquiz_daily_concurrency: int = Field(default=50, ge=1, le=1000)
    awsquiz_instance_id: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=96,
        description="This process's stable name (default: the host name). What it left claimed "
        "when killed is taken over at once by its restart; give each process on one host its "
        "own.",
    )
    slack_bot_token: SecretStr | None = Field(default=None, description="xoxb- bot token.")
    slack_app_token: SecretStr | None = Field(default=None, description="xapp- token: Socket Mode.")
    slack_signing_secret: SecretStr | None = Field(default=None, description="HTTP mode.")
    slack_api_url: str = Field(default=SLACK_API_URL, description="Slack Web API base URL.")
    slack_client_id: str | None = Field(
        default=None, description="OAuth: install into many workspaces (HTTP mode)."
    )
    slack_client_secret: SecretStr | None = Field(default=None, description="OAuth, with the id.")
    awsquiz_token_keys: SecretStr | None = Field(
        default=None,
        description="OAuth: Fernet keys, comma separated, that encrypt the installations' tokens "
        "at rest; the first encrypts, every one decrypts (a new key goes first).",
    )
    slack_redirect_uri: str | None = Field(
        default=None, description="OAuth redirect URL as Slack knows it; default: Slack's choice."
    )
    slack_admin_roles: str = Field(
        default="admin,owner", description="Slack roles allowed to change daily schedules."
    )
    slack_posts_per_minute: int = Field(
        default=60,
        ge=1,
        le=600,
        description="Daily posts per minute per Slack workspace, after a burst of 5 (and one a "
        "second per channel): Slack's chat.postMessage rate.",
    )
    discord_token: SecretStr | None = Field(default=None, description="Discord bot token.")
    discord_api_url: str = Field(default=DISCORD_API_URL, description="Discord REST base URL.")
    discord_gateway_url: str = Field(
        default=DISCORD_GATEWAY_URL, description="Discord gateway websocket URL."
    )
    discord_guild_id: int | None = Field(
        default=None, ge=1, description="Sync commands to this guild only (instant); else global."
    )
    discord_shard_count: int | Literal["auto"] | None = Field(
        default=None,
        description="Run this many shards (AutoShardedClient), or auto: as many as Discord "
        "recommends (GET /gateway/bot); else one connection.",
    )
    discord_shard_ids: str | None = Field(
        default=None,
        description="The shards this process runs, e.g. 0-3 or 0,2,4 of DISCORD_SHARD_COUNT (a "
        "number); other processes run the rest. Default: all of them.",
    )
    port: int = Field(default=3000, ge=1, le=65535, description="HTTP mode listens here.")
    awsquiz_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Serve /healthz, /readyz and /metrics on this port (in Slack's HTTP mode "
        "they are on PORT too).",
    )
    log_level: str = Field(default="WARNING")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("discord_api_url")
    @classmethod
    def _discord_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. https://discord.com/api/v10")
        return value.rstrip("/")  # discord.py appends '/path' to it

    @field_validator("discord_gateway_url")
    @classmethod
    def _discord_gateway_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must be a ws(s) URL, e.g. wss://gateway.discord.gg")
        return value

    @field_validator("discord_shard_count", mode="before")
    @classmethod
    def _shard_count(cls, value: object) -> int | str | None:
        if value is None or isinstance(value, int):
            count = value
        elif str(value).strip().lower() == "auto":
            return "auto"
        elif str(value).strip().isdigit():
            count = int(str(value).strip())
        else:
            count = 0
        if count is not None and count < 1:
            raise ValueError("must be a number of shards (1 or more), or auto")
        return count

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value: object) -> str | None:
        if value is None or not str(value).strip():
            return None
        return ",".join(str(shard) for shard in _shard_numbers(str(value)))

    @model_validator(mode="after")
    def _shard_ids_within_the_count(self) -> Settings:
        shards, count = self.discord_shards, self.discord_shard_count
        if shards is None:
            return self
        if not isinstance(count, int):
            raise SettingsError(
                "DISCORD_SHARD_IDS", "needs DISCORD_SHARD_COUNT set to a number of shards"
            )
        if max(shards) >= count:
            raise SettingsError(
                "DISCORD_SHARD_IDS",
                f"lists shard {max(shards)}, but DISCORD_SHARD_COUNT={count} has shards 0 to "
                f"{count - 1}",
            )
        return self

    @field_validator("slack_redirect_uri")
    @classmethod
    def _redirect_uri_is_a_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(
                "must be an http(s) URL, e.g. https://bot.example/slack/oauth_redirect"
            )
        return value

    @model_validator(mode="after")
    def _oauth_credentials_come_in_pairs(self) -> Settings:
        # SettingsError is not a ValueError, so pydantic lets it through with its setting name.
        if self.slack_client_id is not None and self.slack_client_secret is None:
            raise SettingsError("SLACK_CLIENT_SECRET", "is needed with SLACK_CLIENT_ID (OAuth)")
        if self.slack_client_secret is not None and self.slack_client_id is None:
            raise SettingsError("SLACK_CLIENT_ID", "is needed with SLACK_CLIENT_SECRET (OAuth)")
        return self

    @field_validator("awsquiz_token_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        # Only when set: the check needs the cryptography package's key rules.
        from bot.adapters.slack.token_vault import NEW_KEY_COMMAND, key_problem, split_keys

        keys = split_keys(value.get_secret_value())
        if not keys:
            raise ValueError(f"holds no key; make one with {NEW_KEY_COMMAND}")
        for position, key in enumerate(keys, start=1):
            problem = key_problem(key)
            if problem is not None:  # the key itself is never quoted
                raise ValueError(f"key {position} {problem}; make one with {NEW_KEY_COMMAND}")
        return SecretStr(",".join(keys))

    @field_validator("slack_admin_roles")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        roles = {role.strip().lower() for role in value.split(",") if role.strip()}
        unknown = roles - SLACK_ROLES
        if not roles or unknown:
            raise ValueError(f"use a comma-separated subset of {', '.join(sorted(SLACK_ROLES))}")
        return ",".join(sorted(roles))

    @property
    def content_dirs(self) -> tuple[Path, ...]:
        """The extra pack directories, in order."""
        parts = self.awsquiz_content_dirs.split(os.pathsep)
        return tuple(Path(part).expanduser() for part in parts if part.strip())

    @property
    def discord_shards(self) -> tuple[int, ...] | None:
        """DISCORD_SHARD_IDS as shard numbers, or None: this process runs every shard."""
        if self.discord_shard_ids is None:
            return None
        return tuple(int(shard) for shard in self.discord_shard_ids.split(","))

    @property
    def daily_config(self) -> DailyConfig:
        """The daily flow's tunables."""
        return DailyConfig(
            shared_question=self.awsquiz_daily_shared_question,
            catch_up_grace=timedelta(minutes=self.awsquiz_daily_catch_up_minutes),
            concurrency=self.awsquiz_daily_concurrency,
            instance=self.awsquiz_instance_id,
        )

    @property
    def removed_workspace_grace(self) -> timedelta:
        """How long a removed workspace's data is kept for its return."""
        return timedelta(days=self.awsquiz_removed_workspace_grace_days)

    @property
    def token_keys(self) -> tuple[str, ...]:
        """The token encryption keys, the one that encrypts first (none when unset)."""
        if self.awsquiz_token_keys is None:
            return ()
        return tuple(self.awsquiz_token_keys.get_secret_value().split(","))

    @property
    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret, for the log redaction: tokens and the database password."""
        values = [
            field.get_secret_value()
            for field in (
                self.slack_bot_token,
                self.slack_app_token,
                self.slack_signing_secret,
                self.slack_client_secret,
                self.discord_token,
            )
            if field is not None
        ]
        values.extend(self.token_keys)
        if self.database_url:
            with suppress(ArgumentError, ValueError):
                password = make_url(self.database_url).password
                if password:
                    values.append(str(password))
        return tuple(values)

    @property
    def log_level_number(self) -> int:
        """The logging level as the logging module wants it."""
        return logging.getLevelNamesMapping()[self.log_level]


def _shard_numbers(text: str) -> list[int]:
    """'0-3' or '0,2,4' (or both, '0-1,4') as shard numbers; ValueError saying what is wrong."""
    shards: list[int] = []
    for part in (piece.strip() for piece in text.split(",")):
        first, _, last = part.partition("-")
        if not first.strip().isdigit() or (last and not last.strip().isdigit()):
            raise ValueError(f"{part!r} is not a shard number or range: use e.g. 0-3 or 0,2,4")
        low, high = int(first), int(last or first)
        if high < low:
            raise ValueError(f"{part!r} runs backwards: write the lower shard first")
        for shard in range(low, high + 1):
            if shard in shards:
                raise ValueError(f"lists shard {shard} twice")
            shards.append(shard)
    return shards


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `environ` (tests) or the process environment and .env.

    A malformed value raises SettingsError naming the environment variable.
    """
    try:
        if environ is None:
            return Settings()
        # Every field is given, so nothing leaks in from the process environment.
        values = {
            name: environ.get(name.upper(), field.default)
            for name, field in Settings.model_fields.items()
        }
        return Settings(_env_file=None, **values)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(name, first["msg"]) from None
