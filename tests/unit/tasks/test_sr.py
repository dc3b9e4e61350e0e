"""The SR engine on each device: exact outputs, tiled as untiled, float16 on CUDA, the out-of-memory retry."""

from __future__ import annotations

import pytest
import torch

from srcli.archs import describe
from srcli.archs.compact import SRVGGNetCompact
from srcli.imageio import Picture
from srcli.tasks.run import RunOptions, Timings
from srcli.tasks.sr import upscale_picture
from tests.images import random_channels


def _model(generator: torch.Generator, scale: int = 2):
    torch.manual_seed(int(torch.randint(1 << 30, (1,), generator=generator)))
    net = SRVGGNetCompact(num_feat=8, num_conv=2, scale=scale).eval()
    return describe(net, "tiny")


def _box_means(channels: torch.Tensor, scale: int) -> torch.Tensor:
    return torch.nn.functional.avg_pool2d(channels.to(torch.float64).unsqueeze(0), scale).squeeze(0)


@pytest.mark.parametrize("tile", [0, 16])
def test_every_output_is_exact_on_each_device(device, generator, tile):
    lr = random_channels(generator, 3, 40, 24)
    out = upscale_picture(Picture(lr, None, 8), _model(generator), RunOptions(device=device, tile=tile))
    assert torch.equal(_box_means(out.color, 2), lr.to(torch.float64))


def test_tiled_output_is_the_untiled_one_when_the_overlap_covers_the_receptive_radius(device, generator):
    lr = random_channels(generator, 3, 48, 40)
    model = _model(generator)
    whole = upscale_picture(Picture(lr, None, 8), model, RunOptions(device=device, tile=0))
    tiled = upscale_picture(
        Picture(lr, None, 8), model, RunOptions(device=device, tile=16, overlap=model.receptive_radius)
    )
    difference = (whole.color.to(torch.int32) - tiled.color.to(torch.int32)).abs().max()
    assert difference <= 1  # DESIGN's bar: float summation order at tile borders may move a rounding


def test_half_precision_on_cuda_stays_exact(generator):
    if not torch.cuda.is_available():
        pytest.skip("float16 runs on CUDA only")
    lr = random_channels(generator, 3, 32, 32)
    out = upscale_picture(Picture(lr, None, 8), _model(generator), RunOptions(device=torch.device("cuda"), half=True))
    assert torch.equal(_box_means(out.color, 2), lr.to(torch.float64))


def test_out_of_memory_halves_the_tile_and_starts_again(device, generator, monkeypatch):
    lr = random_channels(generator, 3, 64, 64)
    model = _model(generator)
    forward = model.net.forward

    def forward_that_needs_small_tiles(x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] > 32:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return forward(x)

    monkeypatch.setattr(model.net, "forward", forward_that_needs_small_tiles)
    timings = Timings()
    out = upscale_picture(Picture(lr, None, 8), model, RunOptions(device=device, tile=64, overlap=4), timings=timings)
    assert timings.tiles == [16]  # 64 + overlap and 32 + overlap are too wide; 16 + 2·4 fits
    assert torch.equal(_box_means(out.color, 2), lr.to(torch.float64))
