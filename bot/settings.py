"""Settings, read once from the environment (and an optional .env) into a typed object."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import Final

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
    slack_redirect_uri: str | None = Field(
        default=None, description="OAuth redirect URL as Slack knows it; default: Slack's choice."
    )
    slack_admin_roles: str = Field(
        default="admin,owner", description="Slack roles allowed to change daily schedules."
    )
    discord_token: SecretStr | None = Field(default=None, description="Discord bot token.")
    discord_api_url: str = Field(default=DISCORD_API_URL, description="Discord REST base URL.")
    discord_gateway_url: str = Field(
        default=DISCORD_GATEWAY_URL, description="Discord gateway websocket URL."
    )
    discord_guild_id: int | None = Field(
        default=None, ge=1, description="Sync commands to this guild only (instant); else global."
    )
    discord_shard_count: int | None = Field(
        default=None, ge=1, description="Run this many shards (AutoShardedClient); else one."
    )
    port: int = Field(default=3000, ge=1, le=65535, description="HTTP mode listens here.")
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
    def daily_config(self) -> DailyConfig:
        """The daily flow's tunables."""
        return DailyConfig(
            shared_question=self.awsquiz_daily_shared_question,
            catch_up_grace=timedelta(minutes=self.awsquiz_daily_catch_up_minutes),
            concurrency=self.awsquiz_daily_concurrency,
            instance=self.awsquiz_instance_id,
        )

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
