"""``srcli bench`` on a tiny folder with a random model: the protocol, the consistency, the JSON."""

from __future__ import annotations

import json

import torch

from srcli.archs.compact import SRVGGNetCompact
from srcli.checkpoint import save_checkpoint
from srcli.evaluate import protocol_pair, score_sr
from srcli.tasks.bench import bicubic_upscale
from tests.images import random_channels, save_8bit


def test_bench_reports_quality_beside_bicubic_and_exact_outputs(cli, tmp_path, generator):
    folder = tmp_path / "set"
    folder.mkdir()
    for index in range(2):
        save_8bit(folder / f"{index}.png", random_channels(generator, 3, 26, 30))
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "m.safetensors", SRVGGNetCompact(3, 8, 2, 2), {"task": "sr"})
    result = cli("bench", "--data", folder, "--model", tmp_path / "m.safetensors", "--json")  # ×2: the model's
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["scale"] == 2 and record["images"] == 2 and record["exact_outputs"] == 2
    assert record["min_consistency_psnr_db"] is None
    expected = [
        score_sr(bicubic_upscale(lr, 2), hr, 2)[0]
        for hr, lr in (protocol_pair(folder / f"{i}.png", 2) for i in range(2))
    ]
    assert abs(record["bicubic_psnr_y"] - sum(expected) / 2) < 1e-3
    assert record["output_megapixels_per_second"] > 0 and record["peak_memory_mb"] > 0


def test_bicubic_baseline_matches_the_published_protocol(shared_data):
    """The protocol reproduces the bicubic Set5 ×4 figure of shared/README.md (28.43 dB)."""
    files = sorted((shared_data / "bench" / "Set5").glob("*.png"))
    scores = [score_sr(bicubic_upscale(lr, 4), hr, 4)[0] for hr, lr in (protocol_pair(f, 4) for f in files)]
    assert round(sum(scores) / len(scores), 2) == 28.43
