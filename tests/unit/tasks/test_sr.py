"""The SR engine on each device: exact outputs, tiled as untiled, float16 on CUDA, the out-of-memory retry."""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
import time

import pytest
import torch

from srcli.archs import describe
from srcli.archs.compact import SRVGGNetCompact
from srcli.io.images import Picture, decode_picture
from srcli.maths.operators import AvgPool
from srcli.maths.resample import resample
from srcli.tasks import sr
from srcli.tasks.jpeg_input import jpeg_input
from srcli.tasks.run import RunOptions, Timings
from srcli.tasks.sr import (
    _chain_estimate,
    chain_needed_overlap,
    needed_overlap,
    network_estimate,
    runs_in_bf16,
    stage_overlap,
    upscale_jpeg_picture,
    upscale_picture,
    upscale_resampled,
)
from tests.images import random_channels, save_8bit


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


@pytest.mark.parametrize("correction", ["nearest", "smooth"])
def test_tiled_output_is_the_untiled_one_when_the_overlap_covers_the_receptive_radius(device, generator, correction):
    lr = random_channels(generator, 3, 48, 40)
    model = _model(generator)
    options = RunOptions(device=device, correction=correction)
    assert stage_overlap(model, options) == needed_overlap(model, options)  # the default overlap covers it
    whole = upscale_picture(Picture(lr, None, 8), model, dataclasses.replace(options, tile=0))
    tiled = upscale_picture(Picture(lr, None, 8), model, dataclasses.replace(options, tile=16))
    difference = (whole.color.to(torch.int32) - tiled.color.to(torch.int32)).abs().max()
    assert difference <= 1  # DESIGN's bar: float summation order at tile borders may move a rounding


def test_the_smooth_correction_done_in_each_window_is_booked_to_the_projection(generator, monkeypatch):
    slow_part = AvgPool.smooth_part

    def smooth_part(self, x_r, y):  # a correction that takes 0.3 s in every window
        time.sleep(0.3)
        return slow_part(self, x_r, y)

    monkeypatch.setattr(AvgPool, "smooth_part", smooth_part)
    monkeypatch.setattr(sr, "WHOLE_CORRECTION_VALUES", 0)  # every picture corrected in its windows
    timings = Timings()
    options = RunOptions(correction="smooth", tile=0)
    upscale_picture(Picture(random_channels(generator, 3, 16, 16), None, 8), _model(generator), options, None, timings)
    assert timings.projection >= 0.3 > timings.network >= 0


def test_the_smooth_correction_of_the_whole_picture_is_booked_to_the_projection(generator, monkeypatch):
    slow_quantize = AvgPool.quantize

    def quantize(self, *args, **kwargs):  # a correction and finish that take 0.3 s
        time.sleep(0.3)
        return slow_quantize(self, *args, **kwargs)

    monkeypatch.setattr(AvgPool, "quantize", quantize)
    timings = Timings()
    options = RunOptions(correction="smooth", tile=8)
    upscale_picture(Picture(random_channels(generator, 3, 16, 16), None, 8), _model(generator), options, None, timings)
    assert timings.tiles == [8] and timings.projection >= 0.3 > timings.network >= 0


def _tile_overlaps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The overlap of every tiled run from here on, in order (a spy on :func:`srcli.tasks.run.fill_tiles`)."""
    overlaps: list[int] = []
    real = sr.fill_tiles

    def spy(*args, **kwargs):
        overlaps.append(args[6])
        return real(*args, **kwargs)

    monkeypatch.setattr(sr, "fill_tiles", spy)
    return overlaps


@pytest.mark.parametrize("alpha", [False, True])
def test_a_small_picture_is_corrected_whole_as_in_its_windows_up_to_a_level(generator, monkeypatch, alpha):
    """Below :data:`WHOLE_CORRECTION_VALUES` a smooth correction runs once on the whole picture, the tiles' windows
    overlapping by the network's context alone; in each window (above it) they overlap by its reach too. Both
    are exact and give the same picture up to a level where float rounding moves one."""
    lr = random_channels(generator, 3, 40, 24)
    picture = Picture(lr, random_channels(generator, 1, 40, 24) if alpha else None, 8)
    model = _model(generator)
    overlaps = _tile_overlaps(monkeypatch)
    options = RunOptions(correction="smooth", tile=16)
    whole = upscale_picture(picture, model, options)
    monkeypatch.setattr(sr, "WHOLE_CORRECTION_VALUES", 0)
    windows = upscale_picture(picture, model, options)
    assert overlaps == [model.receptive_radius, needed_overlap(model, options)]  # alpha within the same tiles
    for result in (whole, windows):
        assert torch.equal(_box_means(result.channels(), 2), picture.channels().to(torch.float64))
    assert (whole.channels().to(torch.int32) - windows.channels().to(torch.int32)).abs().max() <= 1


def test_a_resampled_runs_stage_projections_are_booked_to_the_projection(generator, monkeypatch):
    plain_project = AvgPool.project

    def project(self, x, y):  # each stage's correction on the window takes 0.3 s
        time.sleep(0.3)
        return plain_project(self, x, y)

    monkeypatch.setattr(AvgPool, "project", project)
    timings = Timings()
    picture = Picture(random_channels(generator, 3, 8, 8), None, 8)
    upscale_resampled(picture, [_model(generator, 8)], 5, RunOptions(tile=0), None, timings)
    assert timings.projection >= 0.3 > timings.network >= 0


def test_files_side_by_side_never_convert_a_network_while_the_other_runs_it(generator, monkeypatch):
    # two files start at once on one freshly loaded network: the first converts its weights (slowly, here); the
    # second must wait for that instead of converting the same weights beside it
    model = _model(generator)
    picture = Picture(random_channels(generator, 3, 16, 16), None, 8)
    options = RunOptions(tile=0)
    alone = upscale_picture(picture, copy.deepcopy(model), options).color
    converting, overlaps = threading.Event(), []
    plain_to = torch.nn.Module.to

    def slow_to(self, *args, **kwargs):
        if self is model.net:
            overlaps.append(converting.is_set())
            converting.set()
            time.sleep(0.2)
            converting.clear()
        return plain_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to", slow_to)
    outputs = [None, None]

    def upscale(index):
        outputs[index] = upscale_picture(picture, model, options).color

    threads = [threading.Thread(target=upscale, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [False, False]
    assert all(torch.equal(output, alone) for output in outputs)


def test_the_smooth_correction_reaches_beyond_the_networks_radius(generator, monkeypatch):
    """With only the network's radius as overlap, the smooth correction made in each window sees tile borders:
    cores change."""
    monkeypatch.setattr(sr, "WHOLE_CORRECTION_VALUES", 0)
    lr = random_channels(generator, 3, 48, 40)
    model = _model(generator)
    with torch.no_grad():
        model.net.body[-1].weight.mul_(100)  # far from consistent: a large residual for PD to spread
    options = RunOptions(correction="smooth", overlap=model.receptive_radius)
    whole = upscale_picture(Picture(lr, None, 8), model, dataclasses.replace(options, tile=0))
    tiled = upscale_picture(Picture(lr, None, 8), model, dataclasses.replace(options, tile=16))
    assert (whole.color.to(torch.int32) - tiled.color.to(torch.int32)).abs().max() > 1


@pytest.mark.parametrize(("bits", "tile"), [(8, 0), (8, 16), (16, 0), (16, 16)])
def test_smooth_correction_is_exact_at_every_depth_with_alpha(generator, bits, tile):
    max_value = (1 << bits) - 1
    lr = random_channels(generator, 3, 40, 24, max_value)
    alpha = random_channels(generator, 1, 40, 24, max_value)
    dtype = torch.uint8 if bits == 8 else torch.int32
    picture = Picture(lr.to(dtype), alpha.to(dtype), bits)
    out = upscale_picture(picture, _model(generator), RunOptions(tile=tile, correction="smooth"))
    assert torch.equal(_box_means(out.color, 2), lr.to(torch.float64))
    assert torch.equal(_box_means(out.alpha, 2), alpha.to(torch.float64))


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


@pytest.mark.parametrize("method", ["area", "bicubic"])
def test_a_resampled_chain_is_exact_with_alpha_and_tiles_as_untiled(device, generator, method):
    """×5 from a ×2 → ×4 cascade: the estimate of the whole chain is resampled per tile window, then PD at ×5."""
    lr, alpha = random_channels(generator, 3, 20, 12), random_channels(generator, 1, 20, 12)
    stages = [_model(generator, 2), _model(generator, 4)]
    options = RunOptions(device=device, resample=method, correction="nearest")
    assert chain_needed_overlap(stages, options) == 4 + math.ceil(4 / 2) + (method == "bicubic")  # radii 4 and 4
    whole = upscale_resampled(Picture(lr, alpha, 8), stages, 5, dataclasses.replace(options, tile=0))
    tiled = upscale_resampled(Picture(lr, alpha, 8), stages, 5, dataclasses.replace(options, tile=4))
    assert whole.color.shape == (3, 100, 60)
    assert torch.equal(_box_means(tiled.color, 5), lr.to(torch.float64))
    assert torch.equal(_box_means(tiled.alpha, 5), alpha.to(torch.float64))
    assert (whole.color.to(torch.int32) - tiled.color.to(torch.int32)).abs().max() <= 1


def test_the_area_resample_of_a_consistent_estimate_moves_only_the_rounding(generator):
    """Nearest PD at ×8 and area resampling to ×5 keep every LR pixel's mean: the ×5 finish only rounds."""
    lr = random_channels(generator, 3, 16, 16)
    model = _model(generator, 8)
    with torch.no_grad():
        model.net.body[-1].weight.mul_(100)  # far from consistent before PD
    bare = RunOptions(pd=False, resample="area")
    window = lr.unsqueeze(0).float() / 255
    estimate = resample(_chain_estimate([model], window, RunOptions(), Timings()), 8, 5, "area")
    assert torch.allclose(torch.nn.functional.avg_pool2d(estimate, 5), window, atol=1e-5)
    unprojected = upscale_resampled(Picture(lr, None, 8), [model], 5, bare).color
    assert not torch.equal(_box_means(unprojected, 5), lr.to(torch.float64))


def _own_model(generator: torch.Generator):
    """A compact net as srcli's own checkpoints describe themselves (trained on box LRs)."""
    return dataclasses.replace(_model(generator), trained_on="box")


def test_only_srclis_own_compact_nets_on_the_cpu_run_in_bfloat16(generator):
    own, foreign = _own_model(generator), _model(generator)
    on = RunOptions(cpu_bf16=True)
    assert runs_in_bf16(own, on)
    assert not runs_in_bf16(foreign, on)  # trained_on unknown: not measured, stays float32
    assert not runs_in_bf16(dataclasses.replace(own, arch="rrdbnet"), on)
    assert not runs_in_bf16(own, RunOptions(cpu_bf16=False))
    assert not runs_in_bf16(own, dataclasses.replace(on, device=torch.device("meta")))


@pytest.mark.parametrize("tile", [0, 16])
def test_a_bfloat16_network_still_gives_exact_outputs_close_to_float32(generator, tile):
    lr = random_channels(generator, 3, 40, 24)
    model = _own_model(generator)
    fp32 = upscale_picture(Picture(lr, None, 8), model, RunOptions(tile=tile, cpu_bf16=False))
    bf16 = upscale_picture(Picture(lr, None, 8), model, RunOptions(tile=tile, cpu_bf16=True))
    assert torch.equal(_box_means(bf16.color, 2), lr.to(torch.float64))
    difference = (fp32.color.to(torch.int32) - bf16.color.to(torch.int32)).abs()
    assert 0 < difference.max() <= 4  # bfloat16 moves some values (else the test would not test it), by little
    assert next(model.net.parameters()).dtype == torch.float32  # the model keeps its float32 weights


def test_the_bfloat16_copy_follows_in_place_changes_of_the_weights(generator):
    model, window = _own_model(generator), random_channels(generator, 3, 12, 10)[None].float() / 255
    options = RunOptions(cpu_bf16=True)
    before = network_estimate(model, window, options)
    with torch.no_grad():
        model.net.body[-1].bias.add_(0.25)
    after = network_estimate(model, window, options)
    assert torch.allclose(after - before, torch.full_like(before, 0.25), atol=0.02)


def test_the_jpeg_path_tiles_its_network_with_the_network_s_own_context(generator, monkeypatch, tmp_path):
    """The JPEG path corrects the whole picture once every tile's estimate is in: its windows need the network's
    receptive radius, not the smooth correction's reach on top (a quarter more network work at 256-pixel tiles)."""
    model = _model(generator)
    assert model.correction == "smooth" and needed_overlap(model, RunOptions()) > model.receptive_radius
    path = save_8bit(tmp_path / "photo.jpg", random_channels(generator, 3, 40, 24), quality=60)
    picture = decode_picture(path.read_bytes(), path.name)
    overlaps = _tile_overlaps(monkeypatch)
    _, found = upscale_jpeg_picture(picture, jpeg_input(picture), model, RunOptions(tile=16))
    assert overlaps == [model.receptive_radius] and found.exact
