"""awsquiz: AWS and DevOps interview practice for Slack, Discord and the terminal."""

__version__ = "0.1.0"
