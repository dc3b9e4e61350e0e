"""A 16-bit TIFF's resolution in every unit TIFF has: inches as they are, centimetres ×2.54, none (unit 1) dropped."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile

from srcli.io.tiff16 import read_tiff16


def tiff_with(resolution: tuple[float, float], unit: str | None) -> bytes:
    buffer = io.BytesIO()
    options = {"resolution": resolution} | ({"resolutionunit": unit} if unit else {})
    tifffile.imwrite(buffer, np.full((4, 6, 3), 1000, dtype=np.uint16), photometric="rgb", **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("unit", "expected"),
    [("INCH", (300.0, 150.0)), ("CENTIMETER", (300.0 * 2.54, 150.0 * 2.54)), ("NONE", None)],
)
def test_resolution_units(unit, expected):
    tiff = read_tiff16(tiff_with((300.0, 150.0), unit), None)
    assert tiff is not None
    assert tiff.dpi == (pytest.approx(expected) if expected else None)
