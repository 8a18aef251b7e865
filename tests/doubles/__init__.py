"""Loopback doubles of the Slack and Discord APIs, started by the tests and the benchmarks:
the real slack-bolt and discord.py code talks to them over 127.0.0.1, never the internet."""
