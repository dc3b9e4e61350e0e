"""``srcli upscale --realism F``: 0 is the PSNR model's file byte for byte, 1 the realistic model's, and every
blend between is exactly consistent (weights interpolated, or outputs where the architectures differ)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from srcli.archs.compact import SRVGGNetCompact
from srcli.archs.srresnet import SRResNet
from srcli.checkpoints import manifest as registry
from srcli.checkpoints.hub import sha256_of
from srcli.checkpoints.load import save_checkpoint
from tests.cli.test_upscale import KINDS, reduces_to, smooth_channels, write_kind
from tests.images import save_8bit


def checkpoint(path: Path, net: torch.nn.Module, seed: int, **metadata: str) -> Path:
    torch.manual_seed(seed)
    for parameter in net.parameters():
        torch.nn.init.normal_(parameter, std=0.1)  # far from nearest upsampling: PD has work to do
    save_checkpoint(path, net, {"task": "sr", **metadata})
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A PSNR and a "realistic" ×2 compact net (random), the second linked to the first by a relative path."""
    folder = tmp_path_factory.mktemp("realism")
    psnr = checkpoint(folder / "psnr.safetensors", SRVGGNetCompact(3, 8, 2, 2), 0)
    realistic = checkpoint(folder / "gan.safetensors", SRVGGNetCompact(3, 8, 2, 2), 1, psnr_model="psnr.safetensors")
    return psnr, realistic


def upscale(cli, source: Path, out: Path, *args: object) -> bytes:
    result = cli("upscale", source, "-o", out, "--json", "-q", *args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["consistency_exact"] is True
    return out.read_bytes()


@pytest.mark.parametrize("kind", ["RGB", "L16"])
def test_realism_ends_are_the_two_models_byte_for_byte(cli, pair, tmp_path, generator, kind):
    psnr, realistic = pair
    source = write_kind(tmp_path / "in.png", *KINDS[kind](generator))
    assert upscale(cli, source, tmp_path / "0.png", "--model", realistic, "--realism", "0") == upscale(
        cli, source, tmp_path / "psnr.png", "--model", psnr
    )
    if kind == "RGB":
        assert upscale(cli, source, tmp_path / "1.png", "--model", realistic, "--realism", "1") == upscale(
            cli, source, tmp_path / "gan.png", "--model", realistic
        )
        half = upscale(cli, source, tmp_path / "half.png", "--model", realistic, "--realism", "0.5")
        assert half != (tmp_path / "0.png").read_bytes() and half != (tmp_path / "1.png").read_bytes()


@pytest.mark.parametrize(("kind", "tile"), [("RGB", "0"), ("RGBA", "5"), ("L", "5"), ("RGB16", "0"), ("L16", "5")])
def test_every_blend_is_exact(cli, pair, tmp_path, generator, kind, tile):
    pixels, depth = KINDS[kind](generator)
    source = write_kind(tmp_path / "in.png", pixels, depth)
    upscale(cli, source, tmp_path / "out.png", "--model", pair[1], "--realism", "0.3", "--tile", tile)
    assert reduces_to(tmp_path / "out.png", pixels, 2)


def test_different_architectures_blend_their_outputs_exactly(cli, pair, tmp_path, generator):
    psnr, _ = pair
    other = checkpoint(tmp_path / "srresnet.safetensors", SRResNet(num_feat=8, num_block=1, scale=2), 2,
                       psnr_model=str(psnr))  # fmt: skip
    pixels = smooth_channels(generator, 3, 11, 9)
    source = save_8bit(tmp_path / "in.png", pixels)
    result = cli("upscale", source, "--model", other, "--realism", "0.4", "--tile", "4", "--json", "-q")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["arch"] == "compact+srresnet" and record["consistency_exact"] is True
    assert reduces_to(Path(record["output"]), pixels, 2)


def test_without_a_link_the_psnr_end_is_the_shipped_default_of_its_scale(cli, tmp_path, generator):
    realistic = checkpoint(tmp_path / "gan-x4.safetensors", SRVGGNetCompact(3, 64, 8, 4), 3)
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 10, 12))
    assert upscale(cli, source, tmp_path / "0.png", "--model", realistic, "--realism", "0") == upscale(
        cli, source, tmp_path / "default.png", "--scale", "4"
    )


def test_without_a_link_or_a_scale_the_header_scale_picks_the_psnr_end(cli, tmp_path, generator):
    realistic = checkpoint(tmp_path / "gan-x2.safetensors", SRVGGNetCompact(3, 64, 12, 2), 4)
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 10, 12))
    result = cli("upscale", source, "--model", realistic, "--realism", "0.5", "--json", "-q", "-o", tmp_path / "h.png")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == "compact-x2 ↔ gan-x2.safetensors (realism 0.5)"


@pytest.fixture
def manifest_with_a_realistic_model(tmp_path, monkeypatch, pair):
    weights = tmp_path / "weights"
    weights.mkdir()
    entries = []
    for name, path, extra in (
        ("psnr-x2", pair[0], {"default": True}),
        ("gan-x2", pair[1], {"realistic": True, "psnr_model": "psnr-x2"}),
    ):
        (weights / path.name).write_bytes(path.read_bytes())
        entries.append({"name": name, "task": "sr", "scale": 2, "arch": "compact", "file": path.name,
                        "sha256": sha256_of(path), "size": path.stat().st_size, **extra})  # fmt: skip
    (weights / "manifest.json").write_text(json.dumps({"models": entries}))
    monkeypatch.setattr(registry, "weights_dir", lambda: weights)


def test_the_manifest_names_the_realistic_model_and_its_psnr_end(cli, manifest_with_a_realistic_model, pair, tmp_path,
                                                                  generator):  # fmt: skip
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 8, 8))
    blended = cli("upscale", source, "--scale", "2", "--realism", "0.5", "-o", tmp_path / "b.png", "--json", "-q")
    assert blended.exit_code == 0, blended.output
    assert json.loads(blended.stdout)["model"] == "psnr-x2 ↔ gan-x2 (realism 0.5)"
    assert upscale(cli, source, tmp_path / "0.png", "--scale", "2", "--realism", "0") == upscale(
        cli, source, tmp_path / "psnr.png", "--model", pair[0]
    )
    plain = cli("upscale", source, "--scale", "2", "-o", tmp_path / "plain.png", "--json", "-q")
    assert json.loads(plain.stdout)["model"] == "psnr-x2"  # a realistic model is never the default
    missing = cli("upscale", source, "--scale", "4", "--realism", "0.5", "-q")
    assert missing.exit_code == 2 and "no realistic ×4 model ships" in missing.output


def test_realism_outside_zero_to_one_is_a_usage_error(cli, pair, tmp_path, generator):
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 8, 8))
    result = cli("upscale", source, "--model", pair[1], "--realism", "1.5")
    assert result.exit_code == 2 and "realism" in result.output.lower()
