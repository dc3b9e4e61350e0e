"""A kernel-conditioned model (USRNet) through ``srcli upscale --model`` and ``srcli deblur``: any scale 1–4,
the projection under the stated degradation and what the report says of it, kernels as files or specs, and
one line for every unusable kernel or option."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from srcli.archs.compact import SRVGGNetCompact
from srcli.archs.usrnet import USRNet
from srcli.checkpoints.load import save_checkpoint
from srcli.io.degradation_spec import degradation_kernel, downsample_float, downsample_rounded
from srcli.io.images import read_picture
from srcli.tasks.usrnet import ROUNDING_NOISE, FixedDegradation
from tests.images import save_8bit


@pytest.fixture
def usrnet(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "usrnet.safetensors"
    save_checkpoint(path, USRNet(n_iter=2, h_nc=8, nc=(4, 8, 8, 8), nb=1), {"task": "kernel", "scales": "1,2,3,4"})
    return path


@pytest.fixture
def photo(tmp_path, generator):
    coarse = 40 + torch.rand(1, 3, 6, 8, generator=generator) * 175
    smooth = torch.nn.functional.interpolate(coarse, size=(48, 60), mode="bicubic").clamp(0, 255).round()
    return save_8bit(tmp_path / "photo.png", smooth[0].to(torch.uint8))


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(("scale", "spec"), [(3, "gaussian:1.2"), (2, "motion:5,20"), (4, "bicubic")])
def test_upscale_at_any_scale_is_consistent_with_the_stated_degradation(cli, tmp_path, photo, usrnet, scale, spec):
    lr = tmp_path / "lr.png"
    assert cli("degrade", photo, "-s", str(scale), "-o", lr, "--downsampler", spec).exit_code == 0
    record = _json(cli("upscale", lr, "-o", tmp_path / "sr.png", "--model", usrnet, "--scale", str(scale),
                       "--degradation", spec, "--json", "-q"))  # fmt: skip
    assert (record["arch"], record["scale"], record["degradation"]) == ("usrnet", scale, spec)
    assert (record["estimate_scale"], record["resample"]) == (scale, None)  # it runs at the scale: no resampling
    saved, small = read_picture(str(tmp_path / "sr.png")), read_picture(str(lr))
    assert (saved.width, saved.height) == (small.width * scale, small.height * scale)
    off = int((downsample_rounded(saved.channels(), scale, spec, 8) != small.channels().to(torch.int32)).sum())
    assert off == record["lr_values_off"] and off <= small.channels().numel() // 100
    assert record["consistency_exact"] is (off == 0)


def test_upscale_with_noise_relaxes_to_its_level(cli, tmp_path, photo, usrnet):
    lr = tmp_path / "lr.png"
    assert cli("degrade", photo, "-s", "2", "-o", lr, "--downsampler", "gaussian:1.0", "--noise", "5").exit_code == 0
    record = _json(cli("upscale", lr, "-o", tmp_path / "sr.png", "--model", usrnet, "--scale", "2",
                       "--degradation", "gaussian:1.0", "--noise", "5", "--json", "-q"))  # fmt: skip
    assert record["noise"] == 5 and record["network_noise"] == 5
    assert record["residual_rms"] == pytest.approx(5, rel=0.2)


def test_deblur_takes_a_kernel_file_and_reports_its_residual(cli, tmp_path, photo, usrnet):
    kernel = np.zeros((5, 5))
    kernel[2, :] = 1.0  # horizontal motion, not normalised: srcli normalises
    np.save(tmp_path / "k.npy", kernel)
    record = _json(cli("deblur", photo, "--kernel", tmp_path / "k.npy", "--noise", "2", "--model", usrnet,
                       "-o", tmp_path / "sharp.png", "--json", "-q"))  # fmt: skip
    assert (record["task"], record["scale"], record["input_size"]) == ("deblur", 1, record["output_size"])
    assert record["noise"] == pytest.approx(float(np.hypot(2, ROUNDING_NOISE)))
    saved, blurred = read_picture(str(tmp_path / "sharp.png")), read_picture(str(photo))
    residual = downsample_float(saved.channels(), 1, str(tmp_path / "k.npy")) - blurred.channels().double()
    assert record["residual_rms"] == pytest.approx(float(residual.square().mean().sqrt()), abs=1e-3)


@pytest.mark.parametrize(
    ("make", "message"), [(lambda p: np.save(p, np.ones((3, 3, 3))), "must be 2-D"),
                          (lambda p: np.save(p, -np.ones((3, 3))), "positive sum")],
)  # fmt: skip
def test_an_unusable_kernel_is_one_line_before_any_work(cli, tmp_path, photo, usrnet, make, message):
    make(tmp_path / "k.npy")
    result = cli("deblur", photo, "--kernel", tmp_path / "k.npy", "--model", usrnet, "-o", tmp_path / "out.png")
    assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()


def test_a_kernel_too_large_for_one_image_fails_that_file_before_the_network(cli, tmp_path, photo, usrnet):
    np.save(tmp_path / "k.npy", np.ones((99, 99)))  # its reach (49 pixels) exceeds the 48-pixel side
    result = cli("deblur", photo, "--kernel", tmp_path / "k.npy", "--model", usrnet, "-o", tmp_path / "out.png",
                 "--json", "-q")  # fmt: skip
    record = json.loads(result.stdout)
    assert result.exit_code == 2 and "too large" in record["error"] and not (tmp_path / "out.png").exists()


def test_options_a_kernel_model_cannot_take_are_refused(cli, tmp_path, photo, usrnet):
    for options, message in (
        (["--scale", "8"], "trained for scales 1, 2, 3, 4"),
        (["--ensemble"], "--ensemble is not available"),
        (["--realism", "0.5"], "--realism is not available"),
    ):
        result = cli("upscale", photo, "--model", usrnet, "-o", tmp_path / "out.png", *options)
        assert result.exit_code == 2 and message in result.output, result.output
    compact = tmp_path / "compact.safetensors"
    save_checkpoint(compact, SRVGGNetCompact(num_feat=4, num_conv=1, scale=2), {"task": "sr"})
    result = cli("deblur", photo, "--kernel", "motion:5,0", "--model", compact, "-o", tmp_path / "out.png")
    assert result.exit_code == 2 and "not a kernel-conditioned model" in result.output
    result = cli("deblur", photo, "--kernel", "motion:5", "--model", usrnet, "-o", tmp_path / "out.png")
    assert result.exit_code == 2 and "motion:length,angle" in result.output


def test_separable_specs_give_the_network_their_interior_kernel():
    assert torch.allclose(degradation_kernel("box", 2)[1:, 1:], torch.full((2, 2), 0.25, dtype=torch.float64))
    assert degradation_kernel("motion:5,0", 3).shape == (9, 9)  # a kernel spec is its own, whatever the scale


def test_fixed_degradation_mirrors_the_margin_and_crops_it_back():
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, y, kernel, scale, sigma):
            seen.append((tuple(y.shape), tuple(kernel.shape), scale, float(sigma)))
            return torch.nn.functional.interpolate(y, scale_factor=scale, mode="nearest")

    x = torch.rand(1, 3, 10, 12)
    out = FixedDegradation(Probe(), torch.ones(9, 9) / 81, 2, 0.01)(x)
    margin = -(-(4 + 2) // 2)
    assert seen == [((1, 3, 10 + 2 * margin, 12 + 2 * margin), (1, 1, 9, 9), 2, pytest.approx(0.01))]
    assert torch.equal(out, torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))


@pytest.mark.parametrize("noise", [0.0, 2.55])
def test_deblur_reports_the_saved_residual_and_moves_its_progress_while_projecting(tmp_path, photo, usrnet, noise):
    from srcli.checkpoints.resolve import resolve
    from srcli.tasks.batch import Job
    from srcli.tasks.run import RunOptions, run_file
    from srcli.tasks.usrnet import deblur_task

    task = deblur_task(resolve(str(usrnet), "kernel")[0], RunOptions(), "motion:9,30", noise)
    calls: list[tuple[int, int, str]] = []

    def on_tile(done: int, total: int, stage: str = "tiles") -> None:
        calls.append((done, total, stage))

    record = run_file(Job(str(photo), str(tmp_path / "sharp.png")), task, False, on_tile)
    saved, blurred = read_picture(str(tmp_path / "sharp.png")), read_picture(str(photo))
    residual = downsample_float(saved.channels(), 1, "motion:9,30") - blurred.channels().double()
    assert record["residual_rms"] == pytest.approx(float(residual.square().mean().sqrt()), abs=1e-4)
    assert record["noise"] == pytest.approx(float(np.hypot(noise, ROUNDING_NOISE)))
    steps = [done for done, _, stage in calls if stage == "projecting"]
    assert len(steps) > 2 and steps == sorted(steps) and steps[0] < steps[-1]  # it moves, forwards
    assert calls[0][2] == "tiles" and calls[-1][0] == calls[-1][1]  # after the tiles, and it ends done
