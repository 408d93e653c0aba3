"""The library's error types.

Every module raises these, not a command-line module: the tools turn them into
one-line messages (:func:`headswap.utils.cli.friendly_errors`), library users
catch them by type. This module imports nothing, so any module may import it.
"""

__all__ = ['UserError', 'CheckpointError', 'MissingCheckpointError', 'NonFiniteLossError',
           'SourceError']


class UserError(Exception):
    """An error caused by the user's input, reported as one line."""


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt, or holds more than weights."""


class MissingCheckpointError(CheckpointError):
    """A checkpoint file is not there (callers may say how to go on)."""


class NonFiniteLossError(UserError):
    """Training produced a NaN or infinite loss."""


class SourceError(RuntimeError):
    """A clip cannot be read; the message says why (the file is named by the caller)."""
