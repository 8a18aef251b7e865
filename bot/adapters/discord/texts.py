"""What the Discord adapter says in its own words: help, and refusals of Discord's making."""

from __future__ import annotations

from typing import Final

HELP_TEXT: Final = """\
/awsquiz ask [topic] [difficulty]: a question, with Answer, Hint and Skip buttons
/awsquiz answer text: answer your open question (or press Answer)
/awsquiz hint: reveal a key concept (costs points) · /awsquiz skip: see the reference answer
/awsquiz topics: the topics
/awsquiz stats [member]: your statistics, or someone else's
/awsquiz leaderboard [week|month|all]: this server's ranking
/awsquiz interview [topics] [questions]: a mock interview in direct messages \
(type hint, skip or stop there)
/awsquiz daily set channel time timezone · daily off · daily status: a daily question \
(Manage Server needed to change it)
/awsquiz help: this message"""
DMS_CLOSED: Final = (
    "I cannot send you direct messages. Allow them: right-click this server, "
    "Privacy Settings, turn on Direct Messages (or User Settings > Content & Social > "
    "allow DMs from server members). Then run /awsquiz interview again."
)
NEEDS_MANAGE_SERVER: Final = (
    "Only members with the Manage Server permission can change the daily question. "
    "Ask one of them, or use /awsquiz daily status to see the schedule."
)
STALE_BUTTON: Final = "This button is no longer valid."
"""For a button or form of ours that no longer works: an older bot's, or made up."""
GUILD_ONLY: Final = "The daily question is for server channels, not direct messages."
LEADERBOARD_GUILD_ONLY: Final = (
    "A leaderboard ranks the members of a server: run /awsquiz leaderboard in a server channel."
)
OTHERS_STATS_GUILD_ONLY: Final = (
    "In direct messages you can only see your own statistics. To see a member's, run "
    "/awsquiz stats member: in a server you share."
)
