"""``srcli colorize`` and ``srcli train colorize``: exact round trips for both gray operators."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from srcli.archs.colornet import CHROMA_BASIS, ColorNet, chroma_grid, chroma_of, rgb_from
from srcli.checkpoint import load_network, save_checkpoint
from srcli.metrics import colourfulness, has_colour
from srcli.train.colorize import ColorizeTrainConfig, nearest_bins, rebalancing_weights, train_colorize
from tests.images import pillow_channels, random_channels, save_8bit, save_png16, training_folders


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
    from srcli.imageio import read_picture

    out = read_picture(tmp_path / "out.png")
    assert out.bit_depth == 16 and out.color.shape[0] == 3
    assert torch.equal(out.color.to(torch.int64).sum(0), 3 * gray[0].to(torch.int64))


def test_bt601_of_a_sixteen_bit_image_is_a_clear_error(cli, tmp_path, generator, model_path):
    image = save_png16(tmp_path / "in.png", random_channels(generator, 1, 8, 8, 65535))
    result = cli("colorize", image, "-o", tmp_path / "out.png", "--model", model_path, "--gray", "bt601", "--json")
    assert result.exit_code == 1
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


def test_nearest_bins_and_rebalancing(generator):
    bins = chroma_grid()
    chroma = torch.rand(1, 2, 5, 5, generator=generator) * 0.6 - 0.3
    brute = ((chroma.permute(0, 2, 3, 1).unsqueeze(-2) - bins).square().sum(-1)).argmin(-1)
    assert torch.equal(nearest_bins(chroma, bins), brute)
    gray_image = torch.full((3, 16, 16), 100, dtype=torch.uint8)
    reddish = gray_image.clone()
    reddish[0, :4] = 200
    weights = rebalancing_weights([gray_image, gray_image, reddish], bins, 0.5)
    common = nearest_bins(torch.zeros(1, 2, 1, 1), bins).item()
    rare = nearest_bins(chroma_of(torch.tensor([[[[200.0]], [[100.0]], [[100.0]]]]) / 255), bins).item()
    assert weights[rare] > weights[common]


def test_a_few_training_steps_write_a_usable_model(tmp_path, generator, cli):
    train_images = [random_channels(generator, 3, 40, 48) for _ in range(3)]
    train, val = training_folders(tmp_path, train_images, random_channels(generator, 3, 20, 24))
    config = ColorizeTrainConfig(
        data=train, val=val, out=tmp_path / "c.safetensors", run_dir=tmp_path / "run",
        num_feat=8, num_conv=1, steps=4, batch=2, patch=16, val_every=2,
    )  # fmt: skip
    train_colorize(config, resume=False, report=lambda row: None)
    net, metadata = load_network(config.out)
    assert isinstance(net, ColorNet) and metadata["task"] == "colorize"
    assert "srcli train colorize" in metadata["command"] and float(metadata["val_colourfulness_ratio"]) >= 0
    colorize(cli, save_8bit(tmp_path / "in.png", random_channels(generator, 1, 12, 12)), tmp_path / "o.png", config.out)


def test_calibration_picks_the_most_colourful_decoding_that_beats_gray(tmp_path, generator):
    from srcli.train.colorize import calibrate_decoding

    folder = tmp_path / "calibrate"
    folder.mkdir()
    for index in range(2):
        save_8bit(folder / f"c{index}.png", random_channels(generator, 3, 24, 32))
    save_8bit(folder / "gray.png", random_channels(generator, 1, 24, 32))  # left out: no colour
    torch.manual_seed(1)
    net = ColorNet(num_feat=8, num_conv=1)
    temperature, saturation, table = calibrate_decoding(net, sorted(folder.iterdir()))
    chosen = table[f"{temperature},{saturation}"]
    grid = {key: value for key, value in table.items() if key != "gray"}
    passing = [value for value in grid.values() if value[0] > table["gray"][0]]
    if passing:
        assert chosen[0] > table["gray"][0] and chosen[1] == max(value[1] for value in passing)
    else:
        assert chosen[0] == max(value[0] for value in grid.values())
    assert float(net.temperature) == pytest.approx(0.4) and float(net.saturation) == 1.0  # left as it was
