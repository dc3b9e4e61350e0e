"""Reading and writing images: modes, depth, metadata, atomic writes, clear errors."""

from __future__ import annotations

import io

import pytest
import tifffile
import torch
from PIL import Image

from srcli.errors import ImageError
from srcli.io.images import Picture, read_picture, write_bytes_atomic, write_picture
from tests.images import random_channels, save_8bit, save_png16, srgb_profile


@pytest.mark.parametrize(("channels", "has_alpha"), [(1, False), (2, True), (3, False), (4, True)])
def test_8bit_png_round_trip(tmp_path, generator, channels, has_alpha):
    pixels = random_channels(generator, channels, 9, 7)
    picture = read_picture(save_8bit(tmp_path / "in.png", pixels))
    assert picture.bit_depth == 8 and (picture.alpha is not None) == has_alpha
    assert torch.equal(picture.channels(), pixels)
    write_picture(picture, tmp_path / "out.png", overwrite=False)
    assert torch.equal(read_picture(tmp_path / "out.png").channels(), pixels)


@pytest.mark.parametrize(("planes", "alpha"), [(1, False), (2, True), (3, False), (4, True)])
def test_16bit_png_keeps_its_depth(tmp_path, generator, planes, alpha):
    pixels = random_channels(generator, planes, 6, 5, 65535)
    picture = read_picture(save_png16(tmp_path / "in.png", pixels, alpha))
    assert picture.bit_depth == 16 and torch.equal(picture.channels(), pixels)
    write_picture(picture, tmp_path / "out.png", overwrite=False)
    again = read_picture(tmp_path / "out.png")
    assert again.bit_depth == 16 and torch.equal(again.channels(), pixels)


def test_16bit_gray_tiff_keeps_its_depth(tmp_path, generator):
    pixels = random_channels(generator, 1, 6, 5, 65535)
    write_picture(Picture(pixels, None, 16), tmp_path / "g.tif", overwrite=False)
    assert torch.equal(read_picture(tmp_path / "g.tif").color, pixels)


@pytest.mark.parametrize("planes", [2, 3, 4])
def test_16bit_colour_tiff_keeps_its_depth_icc_and_dpi(tmp_path, generator, planes):
    pixels = random_channels(generator, planes, 6, 5, 65535)
    color_count, has_alpha = planes - (planes % 2 == 0), planes % 2 == 0
    alpha = pixels[color_count:] if has_alpha else None
    picture = Picture(pixels[:color_count], alpha, 16, srgb_profile(), (300, 150))
    write_picture(picture, tmp_path / "c.tif", overwrite=False)
    again = read_picture(tmp_path / "c.tif")
    assert again.bit_depth == 16 and again.mode == picture.mode and torch.equal(again.channels(), pixels)
    assert again.icc_profile == srgb_profile() and again.dpi == pytest.approx((300, 150))


def test_16bit_rgb_tiff_from_another_writer_is_not_cut_to_8_bits(tmp_path, generator):
    pixels = random_channels(generator, 3, 7, 4, 65535)
    tifffile.imwrite(tmp_path / "scan.tif", pixels.permute(1, 2, 0).numpy().astype("uint16"), photometric="rgb")
    picture = read_picture(tmp_path / "scan.tif")
    assert picture.mode == "RGB 16-bit" and torch.equal(picture.color, pixels)


def test_unsupported_16bit_tiff_is_a_clear_error(tmp_path, generator):
    signed = random_channels(generator, 3, 4, 4, 30000).permute(1, 2, 0).numpy().astype("int16")
    tifffile.imwrite(tmp_path / "signed.tif", signed, photometric="rgb")
    with pytest.raises(ImageError, match=r"signed.tif: 16-bit TIFF .* not supported"):
        read_picture(tmp_path / "signed.tif")


def test_truncated_or_huge_16bit_tiff_is_one_clear_line(tmp_path, generator, monkeypatch):
    pixels = random_channels(generator, 3, 40, 30, 65535).permute(1, 2, 0).numpy().astype("uint16")
    tifffile.imwrite(tmp_path / "scan.tif", pixels, photometric="rgb")
    data = (tmp_path / "scan.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[:200])  # tags point past the end
    with pytest.raises(ImageError, match=r"cut.tif: broken or unsupported TIFF"):
        read_picture(tmp_path / "cut.tif")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageError, match=r"scan.tif: image too large"):
        read_picture(tmp_path / "scan.tif")


def test_palette_and_cmyk_become_rgb(tmp_path, generator):
    rgb = random_channels(generator, 3, 8, 8)
    image = Image.frombytes("RGB", (8, 8), bytes(rgb.permute(1, 2, 0).flatten().to(torch.uint8).tolist()))
    image.quantize(16).save(tmp_path / "p.png")
    image.convert("CMYK").save(tmp_path / "c.jpg")
    assert read_picture(tmp_path / "p.png").mode == "RGB 8-bit"
    assert read_picture(tmp_path / "c.jpg").mode == "RGB 8-bit"


def test_icc_dpi_and_exif_orientation(tmp_path, generator):
    pixels = random_channels(generator, 3, 4, 6)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    save_8bit(tmp_path / "in.png", pixels, icc_profile=srgb_profile(), dpi=(300, 300), exif=exif)
    picture = read_picture(tmp_path / "in.png")
    assert picture.icc_profile == srgb_profile()
    assert picture.dpi == pytest.approx((300, 300), abs=0.01)
    assert (picture.height, picture.width) == (6, 4)
    assert torch.equal(picture.color, pixels.transpose(1, 2).flip(-1))
    write_picture(picture, tmp_path / "out.png", overwrite=False)
    with Image.open(tmp_path / "out.png") as out:
        assert out.info["icc_profile"] == srgb_profile()
        assert out.getexif().get(0x0112) == 1  # already applied


def test_16bit_png_keeps_icc(tmp_path, generator):
    picture = Picture(random_channels(generator, 3, 4, 4, 65535), None, 16, icc_profile=srgb_profile(), dpi=(72, 72))
    write_picture(picture, tmp_path / "out.png", overwrite=False)
    again = read_picture(tmp_path / "out.png")
    assert again.bit_depth == 16 and again.icc_profile == srgb_profile()
    assert torch.equal(again.color, picture.color)


def test_lossless_webp_round_trip(tmp_path, generator):
    pixels = random_channels(generator, 4, 8, 8)
    write_picture(Picture(pixels[:3], pixels[3:], 8), tmp_path / "out.webp", overwrite=False)
    assert torch.equal(read_picture(tmp_path / "out.webp").channels(), pixels)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"this is text, not an image", "not an image"),
    ],
)
def test_unreadable_files(tmp_path, content, message):
    (tmp_path / "bad.png").write_bytes(content)
    with pytest.raises(ImageError, match=message):
        read_picture(tmp_path / "bad.png")


def test_truncated_png(tmp_path, generator):
    data = save_8bit(tmp_path / "ok.png", random_channels(generator, 3, 64, 64)).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="broken"):
        read_picture(tmp_path / "cut.png")


def test_decompression_bomb(tmp_path, monkeypatch):
    Image.new("L", (64, 64)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageError, match="too large"):
        read_picture(tmp_path / "big.png")


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        read_picture(tmp_path / "nope.png")


def test_atomic_write_never_clobbers(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"mine")
    with pytest.raises(ImageError, match="exists"):
        write_bytes_atomic(b"new", target, overwrite=False)
    assert target.read_bytes() == b"mine"
    write_bytes_atomic(b"new", target, overwrite=True)
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_write_into_missing_folder(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        write_bytes_atomic(b"x", tmp_path / "nowhere" / "out.png", overwrite=False)


def test_failed_encode_leaves_nothing(tmp_path, generator):
    picture = Picture(random_channels(generator, 3, 4, 4), random_channels(generator, 1, 4, 4), 8)
    with pytest.raises(ImageError, match="JPEG cannot hold alpha"):
        write_picture(picture, tmp_path / "out.jpg", overwrite=False)
    assert list(tmp_path.iterdir()) == []


def test_read_from_stdin(monkeypatch, generator, tmp_path):
    data = save_8bit(tmp_path / "a.png", random_channels(generator, 3, 5, 5)).read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert read_picture("-").width == 5


@pytest.mark.parametrize(("planes", "depth"), [(3, 8), (4, 8), (3, 16), (1, 16)])
def test_every_png_compression_level_holds_the_same_pixels(generator, planes, depth):
    from srcli.io.images import PNG_LEVEL, decode_picture, encode_picture

    pixels = random_channels(generator, planes, 24, 17, 3) * (21845 if depth == 16 else 85)  # compressible
    has_alpha = planes in (2, 4)
    picture = Picture(pixels[:-1] if has_alpha else pixels, pixels[-1:] if has_alpha else None, depth)
    sizes = {}
    for level in [None, *range(10)]:
        data = encode_picture(picture, ".png", png_level=level)
        decoded = decode_picture(data, "out.png", trusted=True)
        assert decoded.bit_depth == depth and torch.equal(decoded.channels(), pixels), level
        sizes[level] = len(data)
    assert (sizes[None] == sizes[PNG_LEVEL]) == (depth == 16)  # 8 bits: run-length matching, not a level
    assert sizes[0] > sizes[9]  # the level reaches the encoder
    with pytest.raises(ImageError, match=r"0\.\.9"):
        encode_picture(picture, ".png", png_level=10)
