"""The platform-neutral engine: questions, grading, quiz and interview services.

Nothing in this package imports a chat platform, a database driver or a scheduler.
"""
