"""``srcli train colorize``: the class rebalancing, a few real steps, the calibration of the decoding."""

from __future__ import annotations

import pytest
import torch

from srcli.archs.colornet import ColorNet, chroma_grid, chroma_of
from srcli.archs.colorunet import ColorUNet
from srcli.checkpoints.load import load_network
from srcli.errors import TrainError
from srcli.train.colorize import ColorizeTrainConfig, nearest_bins, rebalancing_weights, train_colorize
from tests.cli.test_colorize import colorize
from tests.images import random_channels, save_8bit, training_folders


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


def test_a_few_colorunet_steps_write_a_usable_model(tmp_path, generator, cli):
    train_images = [random_channels(generator, 3, 40, 48) for _ in range(3)]
    train, val = training_folders(tmp_path, train_images, random_channels(generator, 3, 20, 24))
    config = ColorizeTrainConfig(
        data=train, val=val, out=tmp_path / "u.safetensors", run_dir=tmp_path / "run", arch="colorunet",
        num_feat=4, num_conv=1, steps=2, batch=2, patch=32, val_every=2,
    )  # fmt: skip
    train_colorize(config, resume=False, report=lambda row: None)
    net, metadata = load_network(config.out)
    assert isinstance(net, ColorUNet) and "--arch colorunet" in metadata["command"]
    colorize(cli, save_8bit(tmp_path / "in.png", random_channels(generator, 1, 12, 12)), tmp_path / "o.png", config.out)


def test_a_colorunet_patch_must_reach_its_coarsest_level(tmp_path):
    with pytest.raises(TrainError, match="patch must be a multiple of 32"):
        ColorizeTrainConfig(data=tmp_path, out=tmp_path / "u.safetensors", run_dir=tmp_path, arch="colorunet", patch=48)


@pytest.mark.parametrize(("margin", "chosen"), [(0.0, "0.4,1.5"), (0.5, "0.7,1.0"), (0.9, "1.0,0.5"), (5.0, "1.0,0.5")])
def test_the_most_colourful_decoding_with_the_margin_is_chosen(margin, chosen):
    from srcli.train.colorize import choose_decoding

    table = {"gray": [20.0, 0.0], "0.4,1.5": [20.2, 40.0], "0.7,1.0": [20.5, 30.0], "1.0,0.5": [20.9, 10.0]}
    assert choose_decoding(table, margin) == tuple(float(v) for v in chosen.split(","))


@pytest.mark.parametrize(("originals", "chosen"), [(100.0, "0.4,1.5"), (40.0, "0.7,1.0"), (20.0, "1.0,0.5")])
def test_colour_past_the_ratio_is_not_bought_with_psnr(originals, chosen):
    from srcli.train.colorize import choose_decoding

    table = {"gray": [20.0, 0.0], "0.4,1.5": [20.2, 40.0], "0.7,1.0": [20.5, 30.0], "1.0,0.5": [20.9, 10.0]}
    table["originals"] = [originals]  # 0.85 of 40 is 34: 30 is the most colourful below; of 20, none is: the least
    assert choose_decoding(table, 0.0, max_ratio=0.85) == tuple(float(v) for v in chosen.split(","))


@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_calibration_picks_the_most_colourful_decoding_that_beats_gray(tmp_path, generator, margin):
    from srcli.train.colorize import CALIBRATION_MAX_RATIO, calibrate_decoding

    folder = tmp_path / "calibrate"
    folder.mkdir()
    for index in range(2):
        save_8bit(folder / f"c{index}.png", random_channels(generator, 3, 24, 32))
    save_8bit(folder / "gray.png", random_channels(generator, 1, 24, 32))  # left out: no colour
    torch.manual_seed(1)
    net = ColorNet(num_feat=8, num_conv=1)
    temperature, saturation, table = calibrate_decoding(net, sorted(folder.iterdir()), margin)
    chosen = table[f"{temperature},{saturation}"]
    grid = {key: value for key, value in table.items() if key not in ("gray", "originals")}
    passing = [value for value in grid.values() if value[0] >= table["gray"][0] + margin]
    below = [value for value in passing if value[1] <= CALIBRATION_MAX_RATIO * table["originals"][0]]
    if below:
        assert chosen[0] >= table["gray"][0] + margin and chosen[1] == max(value[1] for value in below)
    elif passing:
        assert chosen[1] == min(value[1] for value in passing)
    else:
        assert chosen[0] == max(value[0] for value in grid.values())
    assert float(net.temperature) == pytest.approx(0.4) and float(net.saturation) == 1.0  # left as it was
