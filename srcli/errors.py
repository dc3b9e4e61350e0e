"""The errors srcli knows: every one derives from :class:`SrcliError`.

A known error means the input cannot be used (a file, an option value, a checkpoint, a measurement
file, a training folder); its message is one line for the user and names parameters, not command-line
flags. Any other exception escaping a command is a bug in srcli, and the command line says so.
"""

from __future__ import annotations


class SrcliError(Exception):
    """Base of every known error: the input cannot be used; ``str(error)`` is one line for the user."""


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
