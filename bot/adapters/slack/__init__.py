"""The Slack adapter: slack-bolt's AsyncApp translating Slack events to engine calls."""
