"""The one exception type for mistakes a user can make.

Anything a user can cause (a bad option, a missing or malformed file, a checksum mismatch, an
unknown model or dataset name) raises :class:`UserError` with a message that names the file,
field or option and says what was expected. The CLI prints it as one line and exits with code 2.
Every other exception is a bug in tfrec and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class UserError(Exception):
    """A problem with the user's input, options or files; the message says how to fix it."""


class DataError(UserError):
    """A dataset file is missing, malformed or fails its checksum (the message names the file)."""


@contextmanager
def naming(source) -> Iterator[None]:
    """Make a UserError raised inside name ``source`` (a file): re-raised as a DataError
    ``"<source>: <message>"`` unless its message already names it."""
    try:
        yield
    except UserError as error:
        if str(source) in str(error):
            raise
        raise DataError(f"{source}: {error}") from None


class NonFiniteLoss(UserError):
    """Training stopped because the loss became NaN or infinite (the message names the epoch and
    step, and where the last good checkpoint is)."""
