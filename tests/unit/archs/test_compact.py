"""SRVGGNetCompact's skip: the LR upsampled nearest (upstream's) or bilinearly, added to the body's output."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from srcli.archs.compact import SRVGGNetCompact
from srcli.maths.metrics import block_border_ratio


def silent_body(skip: str, scale: int) -> SRVGGNetCompact:
    """A compact net whose body outputs zero: what is left is its skip."""
    net = SRVGGNetCompact(3, 4, 1, scale, skip=skip).eval()
    last = net.body[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    return net


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_the_skip_is_the_lr_upsampled_as_named(scale, generator):
    """Made on the LR grid: nearest exactly, bilinear to float rounding, borders included (torch's own ×3 places its
    samples with float32 arithmetic even in float64: 3e-8 off)."""
    x = torch.rand(1, 3, 7, 5, generator=generator, dtype=torch.float64)
    with torch.inference_mode():
        nearest, bilinear = (silent_body(skip, scale).double()(x) for skip in ("nearest", "bilinear"))
        assert torch.equal(nearest, F.interpolate(x, scale_factor=scale, mode="nearest"))
        expected = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
        assert torch.allclose(bilinear, expected, rtol=0, atol=1e-7)


def test_the_bilinear_skip_stays_float32_under_bfloat16_autocast(generator):
    x = torch.rand(1, 3, 9, 6, generator=generator)
    net = silent_body("bilinear", 4)
    with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16):
        skip = net.lr_skip(x)
    expected = F.pixel_unshuffle(F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False), 4)
    assert skip.dtype == torch.float32 and torch.allclose(skip, expected, rtol=0, atol=1e-6)


def test_a_bilinear_skip_has_no_block_grid_where_a_nearest_one_has(generator):
    x = torch.rand(1, 3, 16, 16, generator=generator, dtype=torch.float64)
    with torch.inference_mode():
        nearest, bilinear = (silent_body(skip, 4).double()(x) for skip in ("nearest", "bilinear"))
    assert block_border_ratio(nearest, 4) == torch.inf and block_border_ratio(bilinear, 4) < 1.5


def test_an_unknown_skip_is_refused():
    with pytest.raises(ValueError, match="skip must be one of nearest, bilinear"):
        SRVGGNetCompact(skip="bicubic")
