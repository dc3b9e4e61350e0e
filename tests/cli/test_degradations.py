"""upscale/degrade/check under known degradations: Pillow's bicubic round trip, Gaussian, noise, bad specs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from srcli.archs.compact import SRVGGNetCompact
from srcli.checkpoints.load import save_checkpoint
from tests.images import save_8bit
from tests.manifests import install_manifest, tiny_sr_model


@pytest.fixture
def tiny_x2(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "tiny_x2.safetensors"
    save_checkpoint(path, SRVGGNetCompact(num_feat=8, num_conv=2, scale=2), {"task": "sr"})
    return path


@pytest.fixture
def photo(tmp_path, generator):
    coarse = 40 + torch.rand(1, 3, 6, 8, generator=generator) * 175  # a photo's range: no clipped highlights
    smooth = torch.nn.functional.interpolate(coarse, size=(48, 64), mode="bicubic").clamp(0, 255).round()
    return save_8bit(tmp_path / "photo.png", smooth[0].to(torch.uint8))


def _upscale(cli, source, target, model, *extra):
    result = cli("upscale", source, "-o", target, "--model", model, "--json", "-q", "--device", "cpu", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_bicubic_round_trip_is_pillows_own_resize(cli, tmp_path, photo, tiny_x2):
    lr = tmp_path / "lr.png"
    assert cli("degrade", photo, "--scale", "2", "-o", lr, "--downsampler", "bicubic").exit_code == 0
    record = _upscale(cli, lr, tmp_path / "sr.png", tiny_x2, "--degradation", "bicubic")
    assert record["degradation"] == "bicubic" and record["scale"] == 2
    with Image.open(tmp_path / "sr.png") as sr, Image.open(lr) as small:
        again = np.asarray(sr.resize(small.size, Image.Resampling.BICUBIC)).astype(int)
        off = int((again != np.asarray(small).astype(int)).sum())
    assert off == record["lr_values_off"] and off <= again.size // 1000
    assert record["consistency_exact"] is (off == 0)


def test_gaussian_degradation_is_consistent_and_a_noisy_residual_has_the_noise_level(cli, tmp_path, photo, tiny_x2):
    lr = tmp_path / "lr.png"
    assert cli("degrade", photo, "-s", "2", "-o", lr, "--downsampler", "gaussian:1.2").exit_code == 0
    clean = _upscale(cli, lr, tmp_path / "sr.png", tiny_x2, "--degradation", "gaussian:1.2")
    assert (clean["lr_values_off"] <= 3 and clean["consistency_psnr_db"] is None) or clean["consistency_psnr_db"] > 50
    noisy_lr = tmp_path / "noisy.png"
    assert cli("degrade", photo, "-s", "2", "-o", noisy_lr, "--downsampler", "gaussian:1.2", "--noise", "5",
               "--seed", "7").exit_code == 0  # fmt: skip
    again = tmp_path / "again.png"
    assert cli("degrade", photo, "-s", "2", "-o", again, "--downsampler", "gaussian:1.2", "--noise", "5",
               "--seed", "7").exit_code == 0  # fmt: skip
    assert noisy_lr.read_bytes() == again.read_bytes()  # seeded
    denoised = _upscale(cli, noisy_lr, tmp_path / "denoised.png", tiny_x2, "--degradation", "gaussian:1.2",
                        "--noise", "5")  # fmt: skip
    assert denoised["noise"] == 5.0 and denoised["denoised_input"] is True and "lr_values_off" not in denoised
    assert 0.8 * 5.0 <= denoised["residual_rms"] <= 1.2 * 5.0


def test_check_measures_the_same_specs(cli, tmp_path, photo):
    lr = tmp_path / "lr.png"
    assert cli("degrade", photo, "-s", "4", "-o", lr, "--downsampler", "gaussian:2").exit_code == 0
    record = json.loads(cli("check", photo, lr, "--downsampler", "gaussian:2", "--json").stdout)
    assert record["downsampler"] == "gaussian:2" and record["consistency_exact"] is True


@pytest.mark.parametrize(
    "spec", ["gaussian", "gaussian:-1", "gaussian:nan", "gaussian:inf", "cubic", "bicubic:2", "lanczos"]
)
def test_bad_degradation_specs_are_one_line_and_write_nothing(cli, tmp_path, photo, tiny_x2, spec):
    result = cli("upscale", photo, "-o", tmp_path / "out.png", "--model", tiny_x2, "--degradation", spec)
    assert result.exit_code == 2 and result.output.startswith("srcli: error:") and result.output.count("\n") == 1
    assert not (tmp_path / "out.png").exists()


def test_any_kernel_file_or_motion_is_projected_and_checked(cli, tmp_path, photo, tiny_x2):
    kernel = np.zeros((5, 5))
    kernel[2, :] = 1.0  # a horizontal streak, as a NumPy file
    np.save(tmp_path / "streak.npy", kernel)
    for spec in (str(tmp_path / "streak.npy"), "motion:5,30"):
        lr = tmp_path / "lr.png"
        assert cli("degrade", photo, "-s", "2", "-o", lr, "--downsampler", spec, "--overwrite").exit_code == 0
        record = _upscale(cli, lr, tmp_path / "sr.png", tiny_x2, "--degradation", spec, "--overwrite")
        assert record["consistency_psnr_db"] is None or record["consistency_psnr_db"] > 50
        assert record["lr_values_off"] <= 0.01 * 24 * 32 * 3
        checked = json.loads(cli("check", tmp_path / "sr.png", lr, "--downsampler", spec, "--json").stdout)
        assert checked["consistency_psnr_db"] == record["consistency_psnr_db"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(np.ones(3), "must be 2-D"), (-np.ones((3, 3)), "positive sum"), (np.full((3, 3), np.nan), "NaN")],
)
def test_bad_kernel_files_are_refused_in_one_line(cli, tmp_path, photo, content, message):
    np.save(tmp_path / "k.npy", content)
    result = cli("degrade", photo, "-s", "2", "-o", tmp_path / "lr.png", "--downsampler", tmp_path / "k.npy")
    assert result.exit_code == 2 and message in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "lr.png").exists()


def test_a_scale_below_the_models_is_resampled_then_projected_under_the_degradation(cli, tmp_path, photo):
    torch.manual_seed(1)
    x4 = tmp_path / "tiny_x4.safetensors"
    save_checkpoint(x4, SRVGGNetCompact(num_feat=8, num_conv=2, scale=4), {"task": "sr"})
    record = _upscale(cli, photo, tmp_path / "sr.png", x4, "--scale", "3", "--degradation", "bicubic")
    assert (record["scale"], record["estimate_scale"], record["resample"]) == (3, 4, "bicubic")
    assert record["output_size"] == [192, 144] and record["lr_values_off"] <= 48 * 64 * 3 // 1000
    with Image.open(tmp_path / "sr.png") as sr, Image.open(photo) as small:
        again = np.asarray(sr.resize(small.size, Image.Resampling.BICUBIC)).astype(int)
        assert int((again != np.asarray(small).astype(int)).sum()) == record["lr_values_off"]


def test_a_model_trained_for_the_degradation_is_the_default_where_one_ships(monkeypatch, cli, tmp_path, generator):
    small = save_8bit(tmp_path / "small.png", (60 + torch.rand(3, 8, 10, generator=generator) * 100).round().byte())
    weights = {kind: tiny_sr_model(tmp_path / f"{kind}.safetensors", 2, kind) for kind in ("box", "bicubic")}

    def upscale(*extra):
        result = cli("upscale", small, "--scale", "2", "--json", "--device", "cpu", "--overwrite", *extra)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["model"], " ".join(result.stderr.split())

    install_manifest(monkeypatch, tmp_path, {f"{k}-x2": (weights[k], 2, k) for k in ("box", "bicubic")})
    assert upscale("--degradation", "bicubic")[0] == "bicubic-x2" and upscale()[0] == "box-x2"
    assert "trained on" not in upscale("--degradation", "bicubic")[1]
    install_manifest(monkeypatch, tmp_path, {"box-x2": (weights["box"], 2, "box")})
    model, note = upscale("--degradation", "bicubic")
    assert model == "box-x2" and "box-x2 was trained on box LR; no bicubic model ships for ×2" in note
