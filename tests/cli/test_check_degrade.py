"""``srcli degrade`` and ``srcli check`` through the CLI, bad input included."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from srcli.io.images import read_picture
from tests.images import pillow_channels, random_channels, save_8bit, save_png16, srgb_profile


@pytest.fixture
def photo(tmp_path, generator):
    """A smooth-ish 8-bit RGB picture, 50×38 (not a multiple of 4)."""
    noise = random_channels(generator, 3, 38, 50).float()
    smooth = torch.nn.functional.avg_pool2d(noise.unsqueeze(0), 5, 1, 2, count_include_pad=False)[0]
    return save_8bit(tmp_path / "photo.png", smooth.round().to(torch.int32))


def test_degrade_then_check_is_exact(cli, photo, tmp_path):
    lr = tmp_path / "lr.png"
    result = cli("degrade", photo, "--scale", "4", "-o", lr)
    assert result.exit_code == 0, result.output
    assert "cropped" in result.stderr
    with Image.open(photo) as image:
        image.crop((0, 0, 48, 36)).reduce(4).save(tmp_path / "expected.png")
    assert torch.equal(pillow_channels(lr), pillow_channels(tmp_path / "expected.png"))
    checked = cli("check", photo, lr, "--json")
    assert checked.exit_code == 0, checked.output
    record = json.loads(checked.stdout)
    assert record["scale"] == 4 and record["cropped"] == [48, 36]
    assert record["downsampler"] == "box" and record["consistency_exact"] is True


def test_bicubic_lr_is_finite_under_box_and_exact_under_bicubic(cli, photo, tmp_path):
    lr = tmp_path / "lr.png"
    assert cli("degrade", photo, "--scale", "2", "-o", lr, "--downsampler", "bicubic").exit_code == 0
    box = json.loads(cli("check", photo, lr, "--downsampler", "box", "--json").stdout)
    assert box["consistency_exact"] is False and box["consistency_psnr_db"] is not None
    auto = json.loads(cli("check", photo, lr, "--json").stdout)
    assert auto["downsampler"] == "bicubic" and auto["consistency_exact"] is True
    assert set(auto["downsamplers"]) == {"box", "bicubic", "bilinear", "lanczos", "bicubic-matlab"}


def test_identical_box_mean_is_infinite_psnr(cli, tmp_path, generator):
    lr_pixels = random_channels(generator, 3, 6, 6)
    sr_pixels = lr_pixels.repeat_interleave(3, 1).repeat_interleave(3, 2)
    sr, lr = save_8bit(tmp_path / "sr.png", sr_pixels), save_8bit(tmp_path / "lr.png", lr_pixels)
    record = json.loads(cli("check", sr, lr, "--downsampler", "box", "--json").stdout)
    assert record["consistency_psnr_db"] is None and record["consistency_exact"] is True


def test_min_psnr_sets_the_exit_code(cli, photo, tmp_path):
    lr = tmp_path / "lr.png"
    cli("degrade", photo, "--scale", "2", "-o", lr, "--downsampler", "bicubic")
    assert cli("check", photo, lr, "--downsampler", "box", "--min-psnr", "200").exit_code == 1
    assert cli("check", photo, lr, "--downsampler", "box", "--min-psnr", "10").exit_code == 0


def test_heatmap_is_written(cli, photo, tmp_path):
    lr = tmp_path / "lr.png"
    cli("degrade", photo, "--scale", "2", "-o", lr, "--downsampler", "bicubic")
    heat = tmp_path / "heat.png"
    assert cli("check", photo, lr, "--downsampler", "box", "--heatmap", heat).exit_code == 0
    picture = read_picture(heat)
    assert (picture.width, picture.height) == (25, 19) and picture.color.max() > 0


def test_16bit_png_keeps_depth_through_degrade(cli, tmp_path, generator):
    hr = save_png16(tmp_path / "hr.png", random_channels(generator, 3, 8, 8, 65535))
    assert cli("degrade", hr, "--scale", "2", "-o", tmp_path / "lr.png").exit_code == 0
    lr = read_picture(tmp_path / "lr.png")
    assert lr.bit_depth == 16 and lr.color.max() > 255
    record = json.loads(cli("check", hr, tmp_path / "lr.png", "--json").stdout)
    assert record["consistency_exact"] is True


def test_rgba_with_icc_keeps_alpha_and_profile(cli, tmp_path, generator):
    hr = save_8bit(tmp_path / "hr.png", random_channels(generator, 4, 8, 8), icc_profile=srgb_profile())
    assert cli("degrade", hr, "--scale", "2", "-o", tmp_path / "lr.png").exit_code == 0
    lr = read_picture(tmp_path / "lr.png")
    assert lr.alpha is not None and lr.icc_profile == srgb_profile()


def _bad_inputs(tmp_path, generator):
    text = tmp_path / "text.png"
    text.write_text("hello")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    good = save_8bit(tmp_path / "good.png", random_channels(generator, 3, 64, 64))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:300])
    tiny = save_8bit(tmp_path / "tiny.png", random_channels(generator, 3, 1, 1))
    return {"text": text, "empty": empty, "truncated": truncated, "tiny": tiny, "missing": tmp_path / "nope.png"}


@pytest.mark.parametrize("kind", ["text", "empty", "truncated", "tiny", "missing"])
def test_degrade_bad_input_is_one_line_and_writes_nothing(cli, tmp_path, generator, kind):
    bad = _bad_inputs(tmp_path, generator)[kind]
    out = tmp_path / "out"
    out.mkdir()
    result = cli("degrade", bad, "--scale", "2", "-o", out / "lr.png")
    assert result.exit_code == 2
    assert "Traceback" not in result.output and result.stderr.count("\n") == 1
    assert "srcli: error:" in result.stderr
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("kind", ["text", "empty", "truncated", "tiny", "missing"])
def test_check_bad_input_exits_2(cli, tmp_path, generator, kind):
    bad = _bad_inputs(tmp_path, generator)[kind]
    good = tmp_path / "good.png"
    result = cli("check", good, bad)
    assert result.exit_code == 2 and "srcli: error:" in result.stderr and "Traceback" not in result.output


def test_zero_size_image(cli, tmp_path):
    # Pillow refuses to write 0×0, so craft the IHDR by hand.
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")
    (tmp_path / "zero.png").write_bytes(png)
    result = cli("degrade", tmp_path / "zero.png", "--scale", "2", "-o", tmp_path / "lr.png")
    assert result.exit_code == 2 and "srcli: error:" in result.stderr
    assert not (tmp_path / "lr.png").exists()


def test_non_integer_ratio(cli, tmp_path, generator):
    sr = save_8bit(tmp_path / "sr.png", random_channels(generator, 3, 30, 30))
    lr = save_8bit(tmp_path / "lr.png", random_channels(generator, 3, 9, 9))
    result = cli("check", sr, lr)
    assert result.exit_code == 2 and "not an integer ratio" in result.stderr
    explicit = cli("check", sr, lr, "--scale", "4")
    assert explicit.exit_code == 2 and "is not ×4" in explicit.stderr


def test_decompression_bomb_through_cli(cli, tmp_path, monkeypatch):
    Image.new("RGB", (80, 80)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    result = cli("degrade", tmp_path / "big.png", "--scale", "2", "-o", tmp_path / "lr.png")
    assert result.exit_code == 2 and "too large" in result.stderr
    assert not (tmp_path / "lr.png").exists()


def test_missing_output_folder(cli, photo, tmp_path):
    result = cli("degrade", photo, "--scale", "2", "-o", tmp_path / "no" / "lr.png")
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_existing_output_is_kept_without_overwrite(cli, photo, tmp_path):
    lr = tmp_path / "lr.png"
    lr.write_bytes(b"precious")
    result = cli("degrade", photo, "--scale", "2", "-o", lr)
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    assert lr.read_bytes() == b"precious"
    assert cli("degrade", photo, "--scale", "2", "-o", lr, "--overwrite").exit_code == 0
    assert read_picture(lr).width == 25


def test_python_dash_m_srcli_runs():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "srcli", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("srcli ")
