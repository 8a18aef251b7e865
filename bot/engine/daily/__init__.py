"""The daily channel question: subscriptions, due times, posting, private answers, reveal."""
