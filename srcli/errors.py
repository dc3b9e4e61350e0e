"""The errors srcli knows: every one derives from :class:`SrcliError`.

A known error means the input cannot be used (a file, an option value, a checkpoint, a measurement
file, a training folder); its message is one line for the user and names parameters, not command-line
flags. Any other exception escaping a command is a bug in srcli, and the command line says so.
"""

from __future__ import annotations


class SrcliError(Exception):
    """Base of every known error: the input cannot be used; ``str(error)`` is one line for the user.

    ``parameter``: the parameter the message is about, which then begins it (``scale must be ...``); the
    command line names its flag there instead (``--scale must be ...``).

    Example:
        >>> error = OptionError("must be an integer from 2 to 8, got 9", parameter="scale")
        >>> str(error), error.parameter, error.detail
        ('scale must be an integer from 2 to 8, got 9', 'scale', 'must be an integer from 2 to 8, got 9')
    """

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(f"{parameter} {message}" if parameter is not None else message)
        self.parameter, self.detail = parameter, message


class ImageError(SrcliError):
    """An image or output path that cannot be used: unreadable, truncated, too large, or not writable."""


class MeasurementError(ImageError):
    """A compressed-sensing measurement file that cannot be used."""


class OptionError(SrcliError):
    """A parameter value that cannot be used (a scale that does not divide, an unknown device, ...)."""


class ModelError(SrcliError):
    """A checkpoint that cannot be used: unreadable, unknown architecture, wrong task, non-finite weights."""


class TrainError(SrcliError):
    """Training cannot start: a bad data folder, an incompatible checkpoint or teacher."""


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message, or its type's name when it has none: a library's error as part of
    one line for the user.

    Example:
        >>> first_line(ValueError("bad header\\nat byte 8")), first_line(KeyError())
        ('bad header', 'KeyError')
    """
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
