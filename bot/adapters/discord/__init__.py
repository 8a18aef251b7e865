"""Discord adapter: engine Replies as embeds and persistent buttons, answers through a modal."""
