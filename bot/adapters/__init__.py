"""Adapters translate platform events into engine calls and engine Replies into platform output."""
