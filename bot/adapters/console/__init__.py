"""The terminal adapter: `awsquiz practice`, `awsquiz interview`, `awsquiz stats`."""
