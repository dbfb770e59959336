"""The one exception type for mistakes a user can make.

Anything a user can cause (a bad option, a missing or malformed file, a checksum mismatch, an
unknown model or dataset name) raises :class:`UserError` with a message that names the file,
field or option and says what was expected. The CLI prints it as one line and exits with code 2.
Every other exception is a bug in tfrec and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, options or files; the message says how to fix it."""


class DataError(UserError):
    """A dataset file is missing, malformed or fails its checksum (the message names the file)."""
