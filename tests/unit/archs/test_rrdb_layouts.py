"""ESRGAN checkpoints in the original and BSRGAN key layouts load as BasicSR's RRDBNet."""

from __future__ import annotations

import json

import pytest
import torch

from srcli.archs.rrdbnet import RRDBNet
from srcli.checkpoints.load import load_network
from tests.cli.test_upscale import smooth_channels
from tests.images import save_8bit

NUM_BLOCK = 2


def original_esrgan_keys(key: str) -> str:
    """BasicSR key → key of xinntao/ESRGAN's ``RRDBNet_arch`` (``model.N`` sequential)."""
    parts = key.split(".")
    if parts[0] == "body":
        return f"model.1.sub.{parts[1]}.RDB{parts[2][-1]}.{parts[3]}.0.{parts[4]}"
    layer = {"conv_first": 0, "conv_up1": 3, "conv_up2": 6, "conv_hr": 8, "conv_last": 10}
    if parts[0] == "conv_body":
        return f"model.1.sub.{NUM_BLOCK}.{parts[1]}"
    return f"model.{layer[parts[0]]}.{parts[1]}"


def bsrgan_keys(key: str) -> str:
    """BasicSR key → key of BSRGAN/RealSR's RRDBNet (KAIR)."""
    parts = key.split(".")
    if parts[0] == "body":
        return f"RRDB_trunk.{parts[1]}.RDB{parts[2][-1]}.{parts[3]}.{parts[4]}"
    names = {"conv_body": "trunk_conv", "conv_up1": "upconv1", "conv_up2": "upconv2", "conv_hr": "HRconv"}
    return f"{names.get(parts[0], parts[0])}.{parts[1]}"


@pytest.fixture
def net():
    torch.manual_seed(0)
    return RRDBNet(num_feat=8, num_block=NUM_BLOCK, num_grow_ch=4, scale=4).eval()


@pytest.mark.parametrize("rename", [original_esrgan_keys, bsrgan_keys])
def test_old_layouts_load_as_the_same_network(tmp_path, net, rename):
    torch.save({rename(k): v for k, v in net.state_dict().items()}, tmp_path / "old.pth")
    loaded, _ = load_network(tmp_path / "old.pth")
    lr = torch.rand(1, 3, 6, 5, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert torch.equal(loaded(lr), net(lr))


def test_original_layout_upscales_exactly(cli, tmp_path, net, generator):
    torch.save({original_esrgan_keys(k): v for k, v in net.state_dict().items()}, tmp_path / "RRDB_x4.pth")
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 7, 6))
    result = cli("upscale", source, "--scale", "4", "--model", tmp_path / "RRDB_x4.pth", "--json", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["consistency_exact"] is True


def test_other_than_x4_is_a_clear_error(cli, tmp_path, net, generator):
    state = {original_esrgan_keys(k): v for k, v in net.state_dict().items()}
    del state["model.6.weight"], state["model.6.bias"]
    torch.save(state, tmp_path / "x2.pth")
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 7, 6))
    result = cli("upscale", source, "--scale", "2", "--model", tmp_path / "x2.pth")
    assert result.exit_code == 2
    assert "x2.pth: an RRDBNet for ×2: only the ×4 layout (two upsampling stages) loads" in result.stderr
