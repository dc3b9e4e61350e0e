"""The metrics against published numbers, not against themselves: bicubic ×4 on Set5 with bicubic LR is the
table every SR paper starts from (PSNR-Y 28.42 dB, SSIM-Y 0.8104 with MATLAB's imresize; Pillow's bicubic kernel
differs from MATLAB's by a hair, so the tolerances are those of that difference)."""

from __future__ import annotations

import pytest
from PIL import Image

from srcli.io.images import pil_to_tensor
from srcli.maths.metrics import psnr_y, ssim_y

PUBLISHED_PSNR_Y, PUBLISHED_SSIM_Y = 28.42, 0.8104


def test_bicubic_set5_x4_matches_the_published_table(shared_data):
    psnrs, ssims = [], []
    for path in sorted((shared_data / "bench" / "Set5").glob("*.png")):
        with Image.open(path) as opened:
            hr = opened.convert("RGB")
        hr = hr.crop((0, 0, hr.width // 4 * 4, hr.height // 4 * 4))
        sr = hr.resize((hr.width // 4, hr.height // 4), Image.Resampling.BICUBIC).resize(
            hr.size, Image.Resampling.BICUBIC
        )
        a, b = (pil_to_tensor(x).unsqueeze(0).double() / 255 for x in (sr, hr))
        psnrs.append(psnr_y(a, b, 4))
        ssims.append(ssim_y(a, b, 4))
    assert len(psnrs) == 5
    assert sum(psnrs) / 5 == pytest.approx(PUBLISHED_PSNR_Y, abs=0.03)
    assert sum(ssims) / 5 == pytest.approx(PUBLISHED_SSIM_Y, abs=0.0015)
