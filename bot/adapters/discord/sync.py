"""Upload the `/awsquiz` tree only when it differs from what Discord has, and name its
commands as clickable mentions.

Discord echoes a command with fields of its own (ids, versions) and may leave out what equals
a default (`required: false`, empty lists), so the local payload and Discord's are compared
in one canonical form: the fields a member can see, defaults filled in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import discord
from discord import app_commands

log = logging.getLogger(__name__)

Payload = Mapping[str, Any]

LENGTHS_AND_BOUNDS: Final = ("min_value", "max_value", "min_length", "max_length")
GLOBAL_ONLY: Final = ("contexts", "integration_types")
"""Fields Discord keeps for global commands only: left out when comparing a guild's."""


async def sync_tree(
    client: discord.Client,
    tree: app_commands.CommandTree[Any],
    guild: discord.abc.Snowflake | None,
    *,
    force: bool,
) -> tuple[list[app_commands.AppCommand], bool]:
    """Make Discord's commands (of `guild`, else the global ones) match the tree.

    Return the commands as Discord now has them, and whether they were uploaded: only when
    `force` is set or they differ, so a restart does not re-register an unchanged tree.
    """
    local = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
    if not force and client.application_id is not None:
        try:
            registered = await _registered(client, client.application_id, guild)
        except discord.HTTPException as error:  # cannot tell: upload, as before
            log.warning("discord: reading the registered commands failed: %s", error.text)
        else:
            in_guild = guild is not None
            if canonical(local, in_guild=in_guild) == canonical(registered, in_guild=in_guild):
                # As tree.fetch_commands() builds them; it alone would lose the raw payload.
                state = client._connection
                return [app_commands.AppCommand(data=d, state=state) for d in registered], False
    return await tree.sync(guild=guild), True


async def _registered(
    client: discord.Client, application_id: int, guild: discord.abc.Snowflake | None
) -> list[Any]:
    """The commands Discord has, as it sends them: discord.py's AppCommand reads `contexts`
    and `integration_types` one off (as if they counted from 1), so it cannot be compared."""
    if guild is None:
        return list(await client.http.get_global_commands(application_id))
    return list(await client.http.get_guild_commands(application_id, guild.id))


def canonical(commands: Iterable[Payload], *, in_guild: bool) -> list[dict[str, Any]]:
    """Commands in a form where equal means "a member sees the same", in name order."""
    found = [_command(command, in_guild=in_guild) for command in commands]
    return sorted(found, key=lambda command: (command["type"], command["name"]))


def _command(command: Payload, *, in_guild: bool) -> dict[str, Any]:
    permissions = command.get("default_member_permissions")
    shown = {
        "type": command.get("type", 1),
        "name": command["name"],
        "description": command.get("description", ""),
        "default_member_permissions": None if permissions is None else str(permissions),
        "nsfw": bool(command.get("nsfw", False)),
        **_localisations(command),
        "options": [_option(option) for option in command.get("options") or ()],
    }
    for name in GLOBAL_ONLY:
        values = command.get(name)
        shown[name] = None if in_guild or values is None else sorted(values)
    return shown


def _option(option: Payload) -> dict[str, Any]:
    return {
        "type": option["type"],
        "name": option["name"],
        "description": option.get("description", ""),
        "required": bool(option.get("required", False)),
        "autocomplete": bool(option.get("autocomplete", False)),
        "choices": [
            {"name": choice["name"], "value": choice["value"], **_localisations(choice)}
            for choice in option.get("choices") or ()
        ],
        "channel_types": sorted(option.get("channel_types") or ()),
        **{name: option.get(name) for name in LENGTHS_AND_BOUNDS},
        **_localisations(option),
        "options": [_option(inner) for inner in option.get("options") or ()],
    }


def _localisations(item: Payload) -> dict[str, Any]:
    """Name and description translations; Discord may send null where there are none."""
    return {
        "name_localizations": dict(item.get("name_localizations") or {}),
        "description_localizations": dict(item.get("description_localizations") or {}),
    }


def command_mentions(commands: Sequence[app_commands.AppCommand]) -> dict[str, str]:
    """'/awsquiz ask' -> '</awsquiz ask:ID>' for every subcommand of the synced commands: a
    mention Discord shows as the command, which a click fills in."""
    mentions: dict[str, str] = {}
    pending: list[app_commands.AppCommand | app_commands.AppCommandGroup] = list(commands)
    while pending:
        item = pending.pop()
        children = [
            option for option in item.options if isinstance(option, app_commands.AppCommandGroup)
        ]
        if not children:
            name = item.name if isinstance(item, app_commands.AppCommand) else item.qualified_name
            mentions[f"/{name}"] = item.mention
        pending += children
    return mentions
