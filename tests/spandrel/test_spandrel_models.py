"""srcli[spandrel]: every SR architecture spandrel detects loads from .pth and .safetensors, runs inside PD
and saves exact files. Runs where spandrel is installed (a second venv: torch 2.14.1 + torchvision 0.29.1)."""

from __future__ import annotations

import importlib
import json

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from srcli.checkpoints.load import load_model
from srcli.io.images import Picture
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_picture
from tests.images import random_channels, save_8bit

pytest.importorskip("spandrel")

SMALL = {  # spandrel module: (class, small ×2 configuration)
    "HAT": ("HAT", dict(embed_dim=16, depths=(1,), num_heads=(2,), window_size=4, upscale=2, upsampler="pixelshuffle",
                        compress_ratio=4, squeeze_factor=4)),
    "SwinIR": ("SwinIR", dict(embed_dim=16, depths=[1], num_heads=[2], window_size=4, upscale=2,
                              upsampler="pixelshuffle")),
    "Swin2SR": ("Swin2SR", dict(embed_dim=16, depths=[1], num_heads=[2], window_size=4, upscale=2,
                                upsampler="pixelshuffle")),
    "OmniSR": ("OmniSR", dict(num_feat=16, up_scale=2)),
    "RGT": ("RGT", dict(embed_dim=16, depth=[1], num_heads=[2], upscale=2)),
    "DAT": ("DAT", dict(embed_dim=16, depth=[1], num_heads=[2], upscale=2)),
    "CRAFT": ("CRAFT", dict(embed_dim=16, depths=[1], num_heads=[2], upscale=2)),
    "DITN": ("DITN", dict(dim=16, ITL_blocks=1, SAL_blocks=1, upscale=2)),
    "SPAN": ("SPAN", dict(num_in_ch=3, num_out_ch=3, feature_channels=16, upscale=2)),
    "SAFMN": ("SAFMN", dict(dim=16, n_blocks=1, upscaling_factor=2)),
    "DRCT": ("DRCT", dict(embed_dim=16, depths=(1,), num_heads=(2,), window_size=4, upscale=2,
                          upsampler="pixelshuffle")),
    "PLKSR": ("PLKSR", dict(dim=16, n_blocks=2, upscaling_factor=2, kernel_size=7)),
    "SeemoRe": ("SeemoRe", dict(scale=2, num_experts=2, num_layers=1, embedding_dim=16)),
    "MoSR": ("MoSR", dict(upscale=2, n_block=1, dim=16)),
    "RCAN": ("RCAN", dict(scale=2, n_resgroups=1, n_resblocks=1, n_feats=16, reduction=4)),
    "FDAT": ("FDAT", dict(scale=2, embed_dim=16, num_groups=1, depth_per_group=1, num_heads=2, mid_dim=16)),
    "GRL": ("GRL", dict(embed_dim=16, upscale=2, upsampler="pixelshuffle", depths=[1], num_heads_window=[2],
                        num_heads_stripe=[2])),
    "SwiftSRGAN": ("SwiftSRGAN", dict(num_channels=16, num_blocks=1, upscale_factor=2)),
    "RealCUGAN": ("UpCunet2x", {}),
}  # fmt: skip


def small_network(architecture: str) -> torch.nn.Module:
    torch.manual_seed(0)
    name, config = SMALL[architecture]
    return getattr(importlib.import_module(f"spandrel.architectures.{architecture}"), name)(**config).eval()


@pytest.fixture(scope="module")
def lr() -> torch.Tensor:
    return random_channels(torch.Generator().manual_seed(5), 3, 20, 18).to(torch.uint8)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
@pytest.mark.parametrize("architecture", sorted(SMALL))
def test_every_spandrel_sr_architecture_loads_runs_and_is_exact(tmp_path, lr, architecture, suffix):
    state = {key: value.clone().contiguous() for key, value in small_network(architecture).state_dict().items()}
    path = tmp_path / f"net{suffix}"
    torch.save(state, path) if suffix == ".pth" else save_file(state, str(path))
    model, _ = load_model(path)
    assert (model.arch, model.task, model.scale, model.correction) == (f"spandrel:{architecture}", "sr", 2, "smooth")
    for tile in (0, 12):  # 20×18 LR; spandrel's minimum sizes and multiples are padded inside the net
        out = upscale_picture(Picture(lr, None, 8), model, RunOptions(tile=tile))
        means = F.avg_pool2d(out.color.double().unsqueeze(0), 2)[0]
        assert torch.equal(means, lr.double())


def test_the_command_line_names_the_spandrel_architecture(tmp_path, lr, cli):
    state = {key: value.contiguous() for key, value in small_network("SPAN").state_dict().items()}
    save_file(state, str(tmp_path / "span.safetensors"))
    source = save_8bit(tmp_path / "in.png", lr)
    result = cli("upscale", source, "--model", tmp_path / "span.safetensors", "--json", "-q")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["arch"] == "spandrel:SPAN" and record["consistency_exact"] and record["correction"] == "smooth"
    info = json.loads(cli("models", "info", tmp_path / "span.safetensors").stdout)
    assert info["arch"] == "spandrel:SPAN" and info["scale"] == 2


def test_a_spandrel_model_for_another_purpose_is_refused_in_one_line(tmp_path, cli):
    from spandrel.architectures.DnCNN import DnCNN

    torch.save(DnCNN().state_dict(), tmp_path / "denoise.pth")
    result = cli("models", "info", tmp_path / "denoise.pth")
    assert result.exit_code == 2 and "not super-resolution" in result.stderr


def test_where_spandrel_discourages_tiling_the_picture_runs_whole_by_default(tmp_path, lr):
    from srcli.tasks.run import Timings

    torch.save(small_network("SwinIR").state_dict(), tmp_path / "swinir.pth")
    model, _ = load_model(tmp_path / "swinir.pth")
    timings = Timings()
    upscale_picture(Picture(lr, None, 8), model, RunOptions(), timings=timings)
    assert model.whole and timings.tiles == [max(lr.shape[1:])]
