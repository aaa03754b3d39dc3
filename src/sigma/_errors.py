"""Error types and the one message template used across SIGMA2.

Every message says what was wrong, the value received and what was expected; for files it
names the path.
"""

from __future__ import annotations

from pathlib import Path


class SigmaError(Exception):
    """Base class of SIGMA2's own errors."""


class SigmaFileError(SigmaError, OSError):
    """A file is missing, unreadable, truncated or of an unsupported kind."""


class SigmaValueError(SigmaError, ValueError):
    """A parameter has a value outside what is accepted."""


def bad_value(name: str, value, expected: str) -> SigmaValueError:
    """Build the standard parameter error.

    Examples
    --------
    >>> str(bad_value("size", (0, 2), "a pair of positive ints"))
    "The 'size' parameter must be a pair of positive ints. Got (0, 2) instead."
    """
    return SigmaValueError(f"The {name!r} parameter must be {expected}. Got {value!r} instead.")


def bad_file(path, problem: str, expected: str | None = None) -> SigmaFileError:
    """Build the standard file error naming the path.

    Examples
    --------
    >>> str(bad_file("a.xyz", "has an unsupported extension '.xyz'", "one of .bcf, .hspy"))
    "File 'a.xyz' has an unsupported extension '.xyz'; expected one of .bcf, .hspy."
    """
    msg = f"File '{Path(path)}' {problem}"
    if expected:
        msg += f"; expected {expected}"
    return SigmaFileError(msg + ".")
