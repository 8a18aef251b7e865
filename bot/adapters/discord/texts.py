"""What the Discord adapter says in its own words: help, and refusals of Discord's making."""

from __future__ import annotations

from typing import Final

HELP_TEXT: Final = """\
/awsquiz ask [topic] [difficulty]: a question, with Answer, Hint and Skip buttons
/awsquiz answer text: answer your open question (or press Answer)
/awsquiz hint: reveal a key concept (costs points) · /awsquiz skip: see the reference answer
/awsquiz topics: the topics
/awsquiz stats [member]: your statistics, or someone else's
/awsquiz leaderboard [period] [scope] [public]: this server's ranking \
(public: posted for the whole channel)
/awsquiz interview [topics] [questions]: a mock interview in direct messages \
(type hint, skip or stop there)
/awsquiz daily set time timezone [channel] · /awsquiz daily off · /awsquiz daily status: \
a daily question (Manage Server needed to change it)
/awsquiz forget [confirm]: delete everything awsquiz keeps about you here \
(it asks you to confirm first)
/awsquiz help: this message"""
"""The help; each command named in it becomes a clickable mention once the commands are
synced (see `render.link_commands`)."""
DMS_CLOSED: Final = (
    "I cannot send you direct messages. Allow them: right-click this server, "
    "Privacy Settings, turn on Direct Messages (or User Settings > Content & Social > "
    "allow DMs from server members). Then run /awsquiz interview again."
)
NEEDS_MANAGE_SERVER: Final = (
    "Only members with the Manage Server permission can change the daily question. "
    "Ask one of them, or use /awsquiz daily status to see the schedule."
)
FORGET_CONFIRM: Final = "/awsquiz forget confirm: True"
"""How a member confirms forget me: the command again, with its confirm option set."""
STALE_BUTTON: Final = "This button is no longer valid."
"""For a button or form of ours that no longer works: an older bot's, or made up."""
GUILD_ONLY: Final = "The daily question is for server channels, not direct messages."
NOT_ADDED_HERE: Final = (
    "The daily question is posted by the awsquiz bot, which is not in this server: ask a "
    "server manager to add it. Everything else works here as it is."
)
"""For a daily command in a server where a member uses awsquiz as their own (user) app."""
LEADERBOARD_GUILD_ONLY: Final = (
    "A leaderboard ranks the members of a server: run /awsquiz leaderboard in a server channel."
)
OTHERS_STATS_GUILD_ONLY: Final = (
    "In direct messages you can only see your own statistics. To see a member's, run "
    "/awsquiz stats member: in a server you share."
)
