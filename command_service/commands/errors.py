"""What can go wrong in a command, in the domain's words. The API maps each to an HTTP status."""


class CommandError(Exception):
    """Base of the errors a client can cause and correct."""


class HandleTaken(CommandError):
    pass


class InvalidCredentials(CommandError):
    pass


class UserNotFound(CommandError):
    pass


class PostNotFound(CommandError):
    pass


class NotPostAuthor(CommandError):
    pass


class CannotFollowSelf(CommandError):
    pass


class CannotBlockSelf(CommandError):
    pass


class Blocked(CommandError):
    """One of the two accounts blocks the other: they may not follow or reply to each other."""


class InvalidRefreshToken(CommandError):
    pass


class IdempotencyKeyInUse(CommandError):
    """Another request with the same key is still running."""


class IdempotencyKeyReused(CommandError):
    """The key was first used for a different request."""


class BlockedByAuthor(CommandError):
    """The post's author blocks the user who wants to like or repost it."""
