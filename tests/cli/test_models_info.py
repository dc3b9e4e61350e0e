"""``srcli models info PATH``: any checkpoint file described, its default correction included."""

from __future__ import annotations

import json

import torch

from srcli.archs.compact import SRVGGNetCompact
from srcli.archs.rrdbnet import RRDBNet
from srcli.checkpoints.load import save_checkpoint


def test_a_foreign_pth_is_described_with_the_smooth_correction(tmp_path, cli):
    net = RRDBNet(num_feat=8, num_block=2, num_grow_ch=4, scale=4)
    torch.save({"params_ema": net.state_dict()}, tmp_path / "esrgan.pth")
    result = cli("models", "info", tmp_path / "esrgan.pth")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert (info["arch"], info["task"], info["scale"], info["correction"]) == ("rrdbnet", "sr", 4, "smooth")
    assert info["parameters"] == sum(p.numel() for p in net.parameters())
    assert info["config"]["num_block"] == 2 and info["receptive_radius"] == 34 and len(info["sha256"]) == 64


def test_a_checkpoint_srcli_trained_through_pd_keeps_nearest(tmp_path, cli):
    save_checkpoint(tmp_path / "own.safetensors", SRVGGNetCompact(num_feat=4, num_conv=1, scale=2), {"pd": "true"})
    info = json.loads(cli("models", "info", tmp_path / "own.safetensors").stdout)
    assert (info["arch"], info["scale"], info["correction"]) == ("compact", 2, "nearest")
    assert info["header"]["pd"] == "true"


def test_an_unreadable_file_is_one_line_and_exit_2(tmp_path, cli):
    (tmp_path / "notes.pth").write_text("not a checkpoint")
    result = cli("models", "info", tmp_path / "notes.pth")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


def test_an_unknown_layout_is_one_line_that_names_the_extra_where_it_is_missing(tmp_path, cli):
    import importlib.util

    torch.save({"head.weight": torch.zeros(3, 3)}, tmp_path / "odd.pth")
    result = cli("models", "info", tmp_path / "odd.pth")
    assert result.exit_code == 2 and "unknown architecture" in result.stderr
    assert ("srcli[spandrel]" in result.stderr) == (importlib.util.find_spec("spandrel") is None)


def test_models_list_gives_the_jpeg_model_its_q40_figure_beside_the_pixel_exact_path():
    from srcli.checkpoints.manifest import load_manifest
    from srcli.cli.models import _set5_summary

    entry = next(e for e in load_manifest() if e.degradation == "jpeg")
    set5 = entry.metrics["Set5"]
    assert isinstance(set5, dict)
    figures = set5["jpeg_q40"]
    summary = _set5_summary(entry.task, set5)
    assert summary == f"{figures['psnr_y']:.2f} Y at JPEG q40 (box path {figures['box_path_psnr_y']:.2f})"
    assert _set5_summary("sr", {}) == "—"
