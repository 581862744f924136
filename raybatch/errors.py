"""What can go wrong, in three branches.

- :class:`UsageError`: the user asked for something that cannot work as given (a config key,
  an input location, storage credentials, a job id, a cluster address). Nothing was processed;
  the message names the file or key and the fix. The CLI exits 2.
- :class:`VideoFailure`: one video (or one of its pieces) failed. It never escapes a stage: it
  becomes the error of that video's row and the rest of the batch goes on.
- :class:`RunFailure`: the run as a whole could not finish its bookkeeping (its reports or
  manifest could not be written). The videos' own results are safe; the message says how to go
  on. The CLI exits 1.

Anything else raised out of raybatch is a bug: the CLI says so in one line and keeps the
traceback in a file (``RAYBATCH_DEBUG=1`` re-raises it instead).
"""

from __future__ import annotations


class RaybatchError(Exception):
    """The root of every error raybatch raises on purpose."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(RaybatchError):
    """A mistake in what was asked: the message names the file or key and how to fix it."""


class ConfigError(UsageError):
    """A configuration mistake: the message names the file, the key and what is allowed."""


class InputError(UsageError):
    """The input location itself is unusable (missing, empty, not readable)."""


class StorageError(UsageError):
    """A storage location that cannot be used as given: a missing bucket, refused credentials."""


class ClusterError(UsageError):
    """The Ray cluster asked for cannot be reached or cannot run what was asked (an encoder)."""


class JobError(UsageError):
    """A job, checkpoint or file list that does not exist or cannot be used."""


class VideoFailure(RaybatchError):
    """One video's work failed; carried as that video's error, never raised out of a stage."""


class StageFailure(VideoFailure):
    """A per-item failure found by a stage, with a user-facing hint."""

    def __init__(self, message: str, hint: str = "", detail: str = ""):
        super().__init__(message, hint)
        self.detail = detail


class RunFailure(RaybatchError):
    """The run could not write what it must (reports, the manifest): the message says how to go on."""
