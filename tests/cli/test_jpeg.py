"""JPEG inputs: upscale, project, check and degrade are consistent with the file's coefficients."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jpeglib
import numpy as np
import pytest
import torch
from PIL import Image

from srcli.io.jpeg_files import read_coefficients
from srcli.maths.jpeg import quality_tables

SIZE = (45, 37)  # neither a multiple of 8 nor of 16: ragged MCUs at the right and the bottom


def photo_like(width: int, height: int, seed: int = 0) -> Image.Image:
    """Smooth colour gradients with some texture: what a JPEG of a photo holds, not white noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack([x / width * 200 + 30, y / height * 180 + 40, (x + y) / (width + height) * 150 + 60], -1)
    texture = rng.normal(0, 12, (height // 3 + 1, width // 3 + 1, 3)).repeat(3, 0).repeat(3, 1)[:height, :width]
    return Image.fromarray(np.clip(base + texture, 0, 255).astype(np.uint8))


def save_jpeg(path: Path, image: Image.Image, **options) -> Path:
    image.save(path, "JPEG", **options)
    return path


def upscale_record(cli, source: Path, *extra: str) -> dict:
    result = cli("upscale", source, "--json", "--overwrite", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("RGB", {"quality": 40}),
        ("RGB", {"quality": 75, "subsampling": "4:4:4"}),
        ("RGB", {"quality": 60, "subsampling": "4:2:2", "progressive": True}),
        ("L", {"quality": 50}),
    ],
)
def test_upscale_of_a_jpeg_reproduces_the_coefficients_of_its_file(cli, tmp_path, mode, options):
    # a synthetic image with ragged MCUs: the repair usually reproduces every coefficient, and the report must say
    # exactly how many it did (natural photos: benchmarks/results/jpeg-input.md)
    source = save_jpeg(tmp_path / "photo.jpg", photo_like(*SIZE).convert(mode), **options)
    record = upscale_record(cli, source, "--scale", "2")
    assert record["consistency"] == "jpeg" and record["jpeg_coefficients_reproduced"] >= 0.999
    # independently: reduce the saved file with Pillow, encode it with the file's own tables, read with jpeglib
    with Image.open(record["output"]) as saved:
        lr = saved.reduce(2)
    with Image.open(source) as original:
        buffer = io.BytesIO()
        sampling = {} if mode == "L" else {"subsampling": options.get("subsampling", "4:2:0")}
        lr.save(buffer, "JPEG", qtables=original.quantization, **sampling)
    (tmp_path / "again.jpg").write_bytes(buffer.getvalue())
    again, file = jpeglib.read_dct(str(tmp_path / "again.jpg")), jpeglib.read_dct(str(source))
    planes = [(again.Y, file.Y)] + ([(again.Cb, file.Cb), (again.Cr, file.Cr)] if mode == "RGB" else [])
    same = sum(int((a == b).sum()) for a, b in planes)
    total = sum(b.size for _, b in planes)
    assert same / total == pytest.approx(record["jpeg_coefficients_reproduced"], abs=1e-6)
    assert record["jpeg_exact"] is (same == total)


def test_box_degradation_keeps_the_pixel_exact_path_for_a_jpeg(cli, tmp_path):
    source = save_jpeg(tmp_path / "photo.jpg", photo_like(*SIZE), quality=40)
    record = upscale_record(cli, source, "--scale", "2", "--degradation", "box")
    assert record["consistency"] == "box" and record["consistency_exact"] is True
    with Image.open(record["output"]) as saved, Image.open(source) as original:
        assert saved.reduce(2).tobytes() == original.convert("RGB").tobytes()


@pytest.mark.parametrize("accelerate", ["fp32", "1"])
def test_jpeg_path_tiled_equals_untiled(cli, tmp_path, monkeypatch, accelerate):
    """Both exact, their LRs the same but for a few values a level apart: the network's estimate is not bit for bit
    the same by tile shape (oneDNN rounds by the input's shape: 3e-5 levels apart here in float32; AMX's bfloat16
    more), so an LR value at a rounding edge can come out the other side (1 of 10920 here in float32)."""
    monkeypatch.setenv("SRCLI_ACCELERATE", accelerate)
    source = save_jpeg(tmp_path / "photo.jpg", photo_like(70, 52), quality=50)
    whole = upscale_record(cli, source, "--scale", "2", "--tile", "0", "--suffix", "_whole")
    tiled = upscale_record(cli, source, "--scale", "2", "--tile", "16", "--suffix", "_tiled")
    assert tiled["tile"] == 16 and tiled["tiles_as_untiled"] is True
    assert whole["jpeg_exact"] is True and tiled["jpeg_exact"] is True
    with Image.open(whole["output"]) as a, Image.open(tiled["output"]) as b:
        lr_a, lr_b = (np.asarray(image.reduce(2), dtype=int) for image in (a, b))
        hr = np.abs(np.asarray(a, dtype=int) - np.asarray(b, dtype=int))
    apart = np.abs(lr_a - lr_b)
    assert apart.max() <= 1 and (apart > 0).mean() < 0.005 and hr.max() <= 3


def test_exif_rotated_jpeg_is_consistent_with_its_stored_pixels(cli, tmp_path):
    image = photo_like(*SIZE)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    source = save_jpeg(tmp_path / "rotated.jpg", image, quality=45, exif=exif.tobytes())
    record = upscale_record(cli, source, "--scale", "2")
    assert record["input_size"] == [SIZE[1], SIZE[0]]  # displayed upright
    assert record["jpeg_exact"] is True


def test_project_makes_a_foreign_upscale_consistent_with_the_jpeg(cli, tmp_path):
    source = save_jpeg(tmp_path / "photo.jpg", photo_like(*SIZE), quality=40)
    with Image.open(source) as lr:
        lr.resize((SIZE[0] * 4, SIZE[1] * 4), Image.Resampling.BICUBIC).save(tmp_path / "foreign.png")
    before = cli("check", tmp_path / "foreign.png", source, "--json")
    assert json.loads(before.stdout)["jpeg"]["exact"] is False
    result = cli("project", tmp_path / "foreign.png", source, "-o", tmp_path / "projected.png", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["consistency"] == "jpeg" and record["scale"] == 4
    assert record["jpeg_coefficients_reproduced"] >= 0.999
    after = json.loads(cli("check", tmp_path / "projected.png", source, "--json").stdout)
    assert after["jpeg"]["coefficients_reproduced"] == record["jpeg_coefficients_reproduced"]
    assert after["jpeg"]["exact"] is record["jpeg_exact"]
    box = cli("project", tmp_path / "foreign.png", source, "-o", tmp_path / "box.png", "--degradation", "box")
    assert box.exit_code == 0, box.output
    with Image.open(tmp_path / "box.png") as saved, Image.open(source) as original:
        assert saved.reduce(4).tobytes() == original.tobytes()


def test_project_refuses_to_overwrite_and_bad_sizes_in_one_line(cli, tmp_path):
    source = save_jpeg(tmp_path / "photo.jpg", photo_like(*SIZE), quality=40)
    photo_like(50, 50).save(tmp_path / "odd.png")
    result = cli("project", tmp_path / "odd.png", source, "-o", tmp_path / "out.png")
    assert result.exit_code == 2 and "not an integer ratio" in result.output
    assert not (tmp_path / "out.png").exists()
    (tmp_path / "out.png").write_bytes(b"keep")
    with Image.open(source) as lr:
        lr.resize((SIZE[0] * 2, SIZE[1] * 2)).save(tmp_path / "sr.png")
    result = cli("project", tmp_path / "sr.png", source, "-o", tmp_path / "out.png")
    assert result.exit_code == 2 and "exists" in result.output
    assert (tmp_path / "out.png").read_bytes() == b"keep"


def test_degrade_jpeg_writes_the_quality_and_sampling_asked(cli, tmp_path):
    photo_like(64, 48).save(tmp_path / "hr.png")
    result = cli("degrade", tmp_path / "hr.png", "-s", "2", "-o", tmp_path / "lr.jpg", "--jpeg", "35",
                 "--subsampling", "4:4:4")  # fmt: skip
    assert result.exit_code == 0, result.output
    file = read_coefficients((tmp_path / "lr.jpg").read_bytes())
    assert torch.equal(file.tables, quality_tables(35)) and file.layout.sampling == (1, 1)
    assert file.size == (24, 32)
    refused = cli("degrade", tmp_path / "hr.png", "-s", "2", "-o", tmp_path / "lr.png", "--jpeg", "35")
    assert refused.exit_code == 2 and ".jpg" in refused.output and not (tmp_path / "lr.png").exists()


def test_broken_and_unmodelled_jpegs_fail_in_one_line_and_write_nothing(cli, tmp_path):
    good = save_jpeg(tmp_path / "good.jpg", photo_like(*SIZE), quality=40).read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(good[: len(good) // 2])
    save_jpeg(tmp_path / "cmyk.jpg", photo_like(*SIZE).convert("CMYK"), quality=60)
    for name in ("truncated.jpg", "cmyk.jpg"):
        result = cli("upscale", tmp_path / name, "--scale", "2")
        assert result.exit_code != 0, name
        assert "internal error" not in result.output and "Traceback" not in result.output
        assert not list(tmp_path.glob(f"{Path(name).stem}_x2*"))
    # the pixel-exact path still takes a CMYK JPEG (converted to RGB, as before)
    assert cli("upscale", tmp_path / "cmyk.jpg", "--scale", "2", "--degradation", "box").exit_code == 0
