"""``srcli cs`` and ``srcli train cs``: measurement files, round trips, the LMMSE stage, clear errors."""

from __future__ import annotations

import json
import math

import numpy as np
import png
import pytest
import tifffile
import torch
from PIL import Image
from safetensors.torch import load, save

from srcli.archs.csnet import CSNet
from srcli.checkpoints.load import save_checkpoint
from srcli.io.csfile import SensingInfo, encode_measurements, read_measurements
from srcli.maths.operators import BlockCS
from srcli.tasks.cs import measurement_psnr
from srcli.train.cs import block_statistics, lmmse_initial
from tests.images import random_channels, save_8bit, save_png16

RATIO = 0.25


def smooth_channels(generator: torch.Generator, channels: int, height: int, width: int, max_value: int = 255):
    """A smooth random image (what CS reconstructs well), integers in [0, max_value]."""
    coarse = torch.rand(1, channels, height // 8 + 2, width // 8 + 2, generator=generator)
    fine = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False)
    return (fine[0].clamp(0, 1) * max_value).round().to(torch.int32)


@pytest.fixture
def cs_model_path(tmp_path, generator):
    """A small CSNet for ratio 0.25, seed 0: LMMSE stage fitted to smooth images, random refiner."""
    images = [smooth_channels(generator, 3, 96, 96).to(torch.uint8) for _ in range(4)]
    operator = BlockCS(RATIO)
    net = CSNet(operator.m, num_feat=8, num_conv=1)
    mean, covariance = block_statistics(images, 32, generator)
    weight, bias = lmmse_initial(mean, covariance + 1e-4 * torch.eye(1024, dtype=torch.float64), operator.rows)
    with torch.no_grad():
        net.initial.weight.copy_(weight)
        net.initial.bias.copy_(bias)
    path = tmp_path / "cs.safetensors"
    save_checkpoint(path, net, {"task": "cs", "ratio": str(RATIO), "sensing_seed": "0"})
    return path


def sample(cli, image, target, *extra):
    result = cli("cs", "sample", image, "--ratio", RATIO, "-o", target, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def reconstruct(cli, measurements, target, model, *extra):
    result = cli("cs", "reconstruct", measurements, "-o", target, "--model", model, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("channels", "bit_depth", "height", "width"),
    [(3, 8, 64, 96), (3, 8, 45, 71), (1, 8, 50, 33), (3, 16, 40, 70), (1, 16, 64, 64)],
    ids=["rgb", "rgb-odd", "gray-odd", "rgb16-odd", "gray16"],
)
def test_sample_reconstruct_round_trip(cli, tmp_path, generator, cs_model_path, channels, bit_depth, height, width):
    max_value = (1 << bit_depth) - 1
    pixels = smooth_channels(generator, channels, height, width, max_value)
    image = save_8bit(tmp_path / "in.png", pixels) if bit_depth == 8 else save_png16(tmp_path / "in.png", pixels)
    record = sample(cli, image, tmp_path / "m.safetensors")
    assert record["bit_depth"] == bit_depth and record["channels"] == channels
    out = reconstruct(cli, tmp_path / "m.safetensors", tmp_path / "out.png", cs_model_path)
    assert out["output_size"] == [width, height]
    assert out["consistency_psnr_db"] >= 100
    assert out["saved_consistency_psnr_db"] < out["consistency_psnr_db"]  # rounding costs something
    with Image.open(tmp_path / "out.png") as saved:
        assert saved.size == (width, height)
        assert saved.mode == {(3, 8): "RGB", (1, 8): "L", (1, 16): "I;16"}.get((channels, bit_depth), saved.mode)
    assert png.Reader(filename=str(tmp_path / "out.png")).read()[3]["bitdepth"] == bit_depth


def test_float_tiff_keeps_the_float_result(cli, tmp_path, generator, cs_model_path):
    image = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 40, 50))
    sample(cli, image, tmp_path / "m.safetensors")
    record = reconstruct(cli, tmp_path / "m.safetensors", tmp_path / "out.tiff", cs_model_path)
    array = tifffile.imread(tmp_path / "out.tiff")
    assert array.dtype == np.float32 and array.shape == (40, 50, 3)
    assert record["saved_consistency_psnr_db"] > 120  # float32 storage only
    png = reconstruct(cli, tmp_path / "m.safetensors", tmp_path / "out.png", cs_model_path)
    assert record["saved_consistency_psnr_db"] > png["saved_consistency_psnr_db"] + 40


def test_tiled_reconstruction_equals_whole(cli, tmp_path, generator, cs_model_path):
    image = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 100, 130))
    sample(cli, image, tmp_path / "m.safetensors")
    reconstruct(cli, tmp_path / "m.safetensors", tmp_path / "whole.tiff", cs_model_path, "--tile", "0")
    reconstruct(cli, tmp_path / "m.safetensors", tmp_path / "tiled.tiff", cs_model_path, "--tile", "64")
    whole, tiled = tifffile.imread(tmp_path / "whole.tiff"), tifffile.imread(tmp_path / "tiled.tiff")
    assert np.abs(whole - tiled).max() < 1e-5


def test_measurement_file_holds_what_reconstruction_needs(cli, tmp_path, generator):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 33, 65))
    sample(cli, image, tmp_path / "m.safetensors", "--seed", "7", "--no-model-check")
    values, info = read_measurements(tmp_path / "m.safetensors")
    assert values.dtype == torch.float32 and values.shape == (3 * 256, 2, 3)
    assert (info.ratio, info.block, info.seed, info.m) == (RATIO, 32, 7, 256)
    assert (info.height, info.width, info.padded_height, info.padded_width) == (33, 65, 64, 96)
    assert info.bit_depth == 8 and info.channels == 3


def _rewrite(path, change):
    """Rewrite a measurement file with ``change(tensors, metadata)`` applied (checksum left as it was)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
    tensors = load(path.read_bytes())
    change(tensors, metadata)
    path.write_bytes(save(tensors, metadata=metadata))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t, m: m.update(seed="1"), "checksum mismatch"),
        (lambda t, m: t["measurements"].mul_(2), "checksum mismatch"),
        (lambda t, m: m.pop("sha256"), "'sha256' is missing"),
        (lambda t, m: m.update(format="other"), "not an srcli measurement file"),
    ],
    ids=["tampered-seed", "tampered-values", "no-checksum", "foreign"],
)
def test_tampered_files_are_refused(cli, tmp_path, generator, cs_model_path, change, message):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 32, 32))
    sample(cli, image, tmp_path / "m.safetensors")
    _rewrite(tmp_path / "m.safetensors", change)
    result = cli("cs", "reconstruct", tmp_path / "m.safetensors", "-o", tmp_path / "o.png", "--model", cs_model_path)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "o.png").exists()


def _measurements_with(tmp_path, **fields) -> str:
    operator = BlockCS(RATIO)
    info = SensingInfo(RATIO, 32, 0, operator.m, 32, 32, 32, 32, 3, 8, "0" * 64)
    info = SensingInfo(**(info.__dict__ | fields))
    path = tmp_path / "m.safetensors"
    path.write_bytes(encode_measurements(torch.zeros(3 * operator.m, 1, 1), info))
    return str(path)


def test_a_seed_that_does_not_give_the_rows_is_refused(cli, tmp_path, cs_model_path):
    path = _measurements_with(tmp_path)  # signed, but its rows fingerprint is not seed 0's
    result = cli("cs", "reconstruct", path, "-o", tmp_path / "o.png", "--model", cs_model_path)
    assert result.exit_code == 2 and "seed 0 does not give the sensing rows" in result.output


def test_a_model_for_another_seed_is_refused(cli, tmp_path, generator, cs_model_path):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 32, 32))
    sample(cli, image, tmp_path / "m.safetensors", "--seed", "5", "--no-model-check")
    result = cli("cs", "reconstruct", tmp_path / "m.safetensors", "-o", tmp_path / "o.png", "--model", cs_model_path)
    assert result.exit_code == 2 and "trained for sensing seed 0" in result.output and "seed 5" in result.output


def test_a_ratio_with_no_model_is_a_clear_error(cli, tmp_path, generator):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 32, 32))
    refused = cli("cs", "sample", image, "--ratio", "0.3", "-o", tmp_path / "m.safetensors")  # at sample time
    assert (
        refused.exit_code == 2 and "no shipped model reconstructs ratio 0.3 (shipped: 0.1, 0.25, 0.5)" in refused.stderr
    )
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "m.safetensors").exists()
    result = cli("cs", "sample", image, "--ratio", "0.3", "-o", tmp_path / "m.safetensors", "--no-model-check")
    assert result.exit_code == 0, result.output
    result = cli("cs", "reconstruct", tmp_path / "m.safetensors", "-o", tmp_path / "o.png")
    assert result.exit_code == 2 and "no shipped model reconstructs ratio 0.3" in result.output


def test_sample_checks_the_ratio_and_seed_against_the_model_given(cli, tmp_path, generator, cs_model_path):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 32, 32))
    target = tmp_path / "m.safetensors"
    assert cli("cs", "sample", image, "--ratio", RATIO, "-o", target, "--model", cs_model_path).exit_code == 0
    wrong = cli("cs", "sample", image, "--ratio", "0.1", "-o", tmp_path / "n.st", "--model", cs_model_path)
    assert wrong.exit_code == 2 and "reconstructs ratio 0.25" in wrong.stderr
    seed = cli("cs", "sample", image, "--ratio", "0.1", "--seed", "5", "-o", tmp_path / "n.st")
    assert seed.exit_code == 2 and "sensing seed 0" in seed.stderr and not (tmp_path / "n.st").exists()


def test_not_a_measurement_file(cli, tmp_path, generator):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 32, 32))
    result = cli("cs", "reconstruct", image, "-o", tmp_path / "o.png")
    assert result.exit_code == 2 and "not a safetensors file" in result.output


def test_bad_ratio_and_existing_output(cli, tmp_path, generator, cs_model_path):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 32, 32))
    assert cli("cs", "sample", image, "--ratio", "1.5", "-o", tmp_path / "m.safetensors").exit_code == 2
    sample(cli, image, tmp_path / "m.safetensors")
    assert cli("cs", "sample", image, "--ratio", RATIO, "-o", tmp_path / "m.safetensors").exit_code == 2
    (tmp_path / "o.png").write_bytes(b"keep")
    result = cli("cs", "reconstruct", tmp_path / "m.safetensors", "-o", tmp_path / "o.png", "--model", cs_model_path)
    assert result.exit_code == 2 and "exists" in result.output
    assert (tmp_path / "o.png").read_bytes() == b"keep"


def test_measurement_psnr_is_infinite_for_the_truth():
    operator = BlockCS(RATIO)
    image = torch.rand(3, 64, 32, dtype=torch.float64)
    assert measurement_psnr(image, operator.A(image.unsqueeze(0))[0], operator) > 250
    assert math.isfinite(measurement_psnr(image + 0.01, operator.A(image.unsqueeze(0))[0], operator))
