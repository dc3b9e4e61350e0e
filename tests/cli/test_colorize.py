"""``srcli colorize`` and ``srcli train colorize``: exact round trips for both gray operators."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from PIL import Image

from srcli.archs.colornet import CHROMA_BASIS, ColorNet, chroma_of, rgb_from
from srcli.archs.colorunet import ColorUNet
from srcli.checkpoints.load import save_checkpoint
from srcli.maths.metrics import colourfulness, has_colour
from tests.images import pillow_channels, random_channels, save_8bit, save_png16


@pytest.fixture
def model_path(tmp_path):
    """A small ColorNet with random weights (exactness must hold for any network)."""
    torch.manual_seed(0)
    net = ColorNet(num_feat=8, num_conv=1)
    with torch.no_grad():
        net.body[-1].weight.mul_(20)  # confident, saturated chroma: the quantiser must clip
    path = tmp_path / "color.safetensors"
    save_checkpoint(path, net, {"task": "colorize"})
    return path


def colorize(cli, image, target, model, *extra):
    result = cli("colorize", image, "-o", target, "--model", model, "--json", "-q", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("channels", [1, 2, 3, 4], ids=["L", "LA", "RGB", "RGBA"])
def test_mean_round_trip_is_exact(cli, tmp_path, generator, model_path, channels):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, channels, 37, 50))
    record = colorize(cli, image, tmp_path / "out.png", model_path, "--tile", "16")
    source, out = pillow_channels(image), pillow_channels(tmp_path / "out.png")
    colour = source[:3] if channels >= 3 else source[:1]
    gray = torch.div(2 * colour.sum(0) + 3, 6, rounding_mode="floor") if channels >= 3 else colour[0]
    assert torch.equal(out[:3].sum(0), 3 * gray)
    if channels in (2, 4):
        assert torch.equal(out[3], source[-1])  # alpha kept
    assert record["consistency_exact"] and record["consistency_psnr_db"] is None
    assert record["converted_from_rgb"] == (channels >= 3)


@pytest.mark.parametrize("channels", [1, 3], ids=["L", "RGB"])
def test_bt601_round_trip_is_exact_for_pillow(cli, tmp_path, generator, model_path, channels):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, channels, 41, 33))
    record = colorize(cli, image, tmp_path / "out.png", model_path, "--gray", "bt601")
    with Image.open(image) as source, Image.open(tmp_path / "out.png") as out:
        assert out.mode == "RGB"
        assert out.convert("L").tobytes() == source.convert("L").tobytes()
    assert record["consistency_exact"] and record["colourfulness"] > 0


def test_sixteen_bit_gray_stays_sixteen_bit_and_exact(cli, tmp_path, generator, model_path):
    gray = random_channels(generator, 1, 24, 28, 65535)
    image = save_png16(tmp_path / "in.png", gray)
    colorize(cli, image, tmp_path / "out.png", model_path)
    from srcli.io.images import read_picture

    out = read_picture(tmp_path / "out.png")
    assert out.bit_depth == 16 and out.color.shape[0] == 3
    assert torch.equal(out.color.to(torch.int64).sum(0), 3 * gray[0].to(torch.int64))


def test_bt601_of_a_sixteen_bit_image_is_a_clear_error(cli, tmp_path, generator, model_path):
    image = save_png16(tmp_path / "in.png", random_channels(generator, 1, 8, 8, 65535))
    result = cli("colorize", image, "-o", tmp_path / "out.png", "--model", model_path, "--gray", "bt601", "--json")
    assert result.exit_code == 2
    assert "use --gray mean for 16-bit" in json.loads(result.stdout.splitlines()[0])["error"]
    assert not (tmp_path / "out.png").exists()


def test_tiles_agree_with_the_whole_image(cli, tmp_path, generator, model_path):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 1, 70, 90))
    colorize(cli, image, tmp_path / "whole.png", model_path, "--tile", "0")
    colorize(cli, image, tmp_path / "tiled.png", model_path, "--tile", "32", "--tile-overlap", "48")
    whole, tiled = pillow_channels(tmp_path / "whole.png"), pillow_channels(tmp_path / "tiled.png")
    assert (whole - tiled).abs().max() <= 1


def test_missing_model_is_a_clear_error(cli, tmp_path, generator):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 1, 8, 8))
    result = cli("colorize", image, "--model", tmp_path / "nothing.safetensors")
    assert result.exit_code == 2 and "model file not found" in result.output


def test_chroma_never_changes_the_channel_mean(generator):
    gray = torch.rand(2, 1, 8, 8, generator=generator)
    chroma = torch.randn(2, 2, 8, 8, generator=generator)
    rgb = rgb_from(gray, chroma)
    assert torch.allclose(rgb.mean(1, keepdim=True), gray, atol=1e-6)
    assert torch.allclose(chroma_of(rgb), chroma, atol=1e-5)
    assert torch.allclose(CHROMA_BASIS @ CHROMA_BASIS.T, torch.eye(2), atol=1e-6)


def test_colourfulness_of_known_images():
    assert colourfulness(torch.full((3, 4, 4), 128.0)) == 0.0
    red = torch.zeros(3, 4, 4)
    red[0] = 255
    assert colourfulness(red) == pytest.approx(0.3 * float(np.hypot(255, 127.5)))
    assert has_colour(red) and not has_colour(torch.full((3, 4, 4), 128.0)) and not has_colour(red[:1])


@pytest.mark.parametrize("gray", ["mean", "bt601"])
def test_the_report_shows_colourfulness_and_both_consistency_figures(
    cli, tmp_path, generator, model_path, gray, monkeypatch
):
    """The table gives the float PSNR of the output's gray, whether the gray an editor makes is exact, and
    the colourfulness (issue 39: it showed one figure and no colourfulness)."""
    monkeypatch.setenv("COLUMNS", "400")  # no cell wraps, whatever the length of pytest's temporary paths
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 1, 16, 16))
    result = cli("colorize", image, "-o", tmp_path / "out.png", "--model", model_path, "--gray", gray)
    assert result.exit_code == 0, result.output
    record = colorize(cli, image, tmp_path / "again.png", model_path, "--gray", gray)
    text = " ".join(result.stderr.split())
    psnr = record["consistency_psnr_db"]
    assert f"{'∞' if psnr is None else f'{psnr:.2f}'} dB, {gray} gray exact" in text
    assert "colourfulness" in text and f"{record['colourfulness']:.1f}" in text


@pytest.fixture
def unet_path(tmp_path):
    """A small ColorUNet with random, confident weights."""
    torch.manual_seed(0)
    net = ColorUNet(num_feat=4, num_conv=1, temperature=0.8, saturation=0.6)
    with torch.no_grad():
        net.head.weight.mul_(20)
    path = tmp_path / "unet.safetensors"
    save_checkpoint(path, net, {"task": "colorize"})
    return path


@pytest.mark.parametrize("vividness", ["0", "0.5", "1"])
@pytest.mark.parametrize("gray", ["mean", "bt601"])
def test_every_vividness_is_exact(cli, tmp_path, generator, unet_path, vividness, gray):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 45, 70))
    record = colorize(cli, image, tmp_path / "out.png", unet_path, "--gray", gray, "--vividness", vividness)
    with Image.open(image) as source, Image.open(tmp_path / "out.png") as out:
        if gray == "bt601":
            assert out.convert("L").tobytes() == source.convert("L").tobytes()
        else:
            colour, saved = pillow_channels(image).to(torch.int64), pillow_channels(tmp_path / "out.png")
            gray_mean = torch.div(2 * colour.sum(0) + 3, 6, rounding_mode="floor")
            assert torch.equal(saved.to(torch.int64).sum(0), 3 * gray_mean)
    assert record["consistency_exact"] and record["arch"] == "colorunet"


def test_vividness_sets_the_decoding_and_more_is_bolder(cli, tmp_path, generator, unet_path):
    from srcli.tasks.colorize import VIVID_SATURATION, VIVID_TEMPERATURE, colorize_task, vivid_decoding
    from srcli.tasks.run import RunOptions

    steps = [vivid_decoding(v / 4, 0.8, 0.6) for v in range(5)]
    assert steps[0] == pytest.approx((0.8, 0.6)) and steps[-1] == pytest.approx(
        (VIVID_TEMPERATURE, 0.6 * VIVID_SATURATION)
    )
    assert all(a[0] > b[0] and a[1] < b[1] for a, b in itertools.pairwise(steps))
    net = colorize_task(str(unet_path), "mean", RunOptions(), vividness=0.5).model.net
    assert (float(net.temperature), float(net.saturation)) == pytest.approx(steps[2])
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 1, 64, 64))
    calm = colorize(cli, image, tmp_path / "calm.png", unet_path, "--vividness", "0")
    vivid = colorize(cli, image, tmp_path / "vivid.png", unet_path, "--vividness", "1")
    assert vivid["colourfulness"] > calm["colourfulness"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--vividness", "1.5"), "--vividness must be in [0, 1]"),
        (("--vividness", "1", "--temperature", "0.5"), "either"),
    ],
)
def test_a_bad_vividness_is_a_clear_error(cli, tmp_path, generator, unet_path, extra, message):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 1, 8, 8))
    result = cli("colorize", image, "-o", tmp_path / "out.png", "--model", unet_path, *extra)
    assert result.exit_code == 2 and message in result.output and not (tmp_path / "out.png").exists()


def test_colorunet_sees_the_whole_image_unless_told_to_tile(cli, tmp_path, generator, unet_path):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 1, 300, 700))
    colorize(cli, image, tmp_path / "auto.png", unet_path)
    colorize(cli, image, tmp_path / "whole.png", unet_path, "--tile", "0")
    assert torch.equal(pillow_channels(tmp_path / "auto.png"), pillow_channels(tmp_path / "whole.png"))


def test_a_batch_side_by_side_loads_its_model_once(cli, tmp_path, generator, model_path, monkeypatch):
    """Small files computed side by side (two threads) share the batch's loaded model instead of each thread
    loading it again, and every file still turns back into its gray."""
    from srcli.tasks import colorize as colorize_module
    from srcli.tasks import pipeline

    loads = []
    load = colorize_module.colorize_model
    monkeypatch.setattr(colorize_module, "colorize_model", lambda spec: loads.append(spec) or load(spec))
    monkeypatch.setattr(pipeline, "file_workers", lambda options, jobs: 2)
    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(4):
        save_8bit(folder / f"{index}.png", random_channels(generator, 1, 24, 20))
    result = cli("colorize", folder, "-o", tmp_path / "out", "--model", model_path, "--json", "-q")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(loads) == 1 and len(records) == 4 and all(record["consistency_exact"] for record in records)
