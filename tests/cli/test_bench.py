"""``srcli bench`` on a tiny folder with a random model: the protocol, the consistency, the JSON."""

from __future__ import annotations

import json

import torch

from srcli.archs.compact import SRVGGNetCompact
from srcli.checkpoints.load import save_checkpoint
from srcli.io.testsets import protocol_pair, score_sr
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
    """The protocol reproduces the bicubic Set5 ×4 figure of shared/README.md (28.43 dB), and its detail
    energy the one measured in issue 31 (0.04 of the HR photos')."""
    from srcli.maths.metrics import detail

    files = sorted((shared_data / "bench" / "Set5").glob("*.png"))
    pairs = [(hr, bicubic_upscale(lr, 4)) for hr, lr in (protocol_pair(f, 4) for f in files)]
    scores = [score_sr(sr, hr, 4)[0] for hr, sr in pairs]
    assert round(sum(scores) / len(scores), 2) == 28.43
    details = [detail(sr.double() / 255, hr.double() / 255, 4) for hr, sr in pairs]
    assert round(sum(details) / len(details), 2) == 0.04


def test_bench_reports_niqe_and_detail_of_the_saved_outputs(cli, tmp_path, generator):
    """NIQE (shipped pristine model) and detail energy of each saved output, beside bicubic's and the HR's;
    NIQE is null where no image has two 96×96 patches."""
    import torch.nn.functional as F

    from srcli.checkpoints.pristine import shipped_pristine
    from srcli.maths.metrics import detail
    from srcli.maths.niqe import niqe

    folder = tmp_path / "set"
    folder.mkdir()
    hr = F.avg_pool2d(random_channels(generator, 3, 200, 104).float()[None], 5, 1, 2, count_include_pad=False)
    save_8bit(folder / "a.png", hr[0].round().int())
    model, record, hr, lr, sr = bench_and_upscale(cli, folder, tmp_path)
    assert record["niqe"] == round(niqe(sr, shipped_pristine()), 3)
    assert record["hr_niqe"] == round(niqe(hr.double() / 255, shipped_pristine()), 3)
    assert record["detail"] == round(detail(sr, hr.double() / 255, 2), 3)
    bicubic = bicubic_upscale(lr, 2).double() / 255
    assert record["bicubic_detail"] == round(detail(bicubic, hr.double() / 255, 2), 3) < record["detail"]
    small = tmp_path / "small"
    small.mkdir()
    save_8bit(small / "b.png", random_channels(generator, 3, 40, 40))
    assert json.loads(cli("bench", "--data", small, "--model", model, "--json").stdout)["niqe"] is None


def test_bench_reports_false_texture_of_the_saved_outputs(cli, tmp_path, generator):
    """The saved output's local std where the photo is flat over the photo's own (null where nothing is flat),
    beside bicubic's; a random model paints texture on the flat half that bicubic does not."""
    from srcli.maths.metrics import false_texture

    folder = tmp_path / "set"
    folder.mkdir()
    photo = random_channels(generator, 3, 48, 64)
    photo[:, :, :32] = 120 + random_channels(generator, 3, 48, 32, max_value=1)  # flat, with a grain of one level
    save_8bit(folder / "a.png", photo)
    model, record, hr, lr, sr = bench_and_upscale(cli, folder, tmp_path)
    score = false_texture(sr, hr.double() / 255, 2)
    assert record["false_texture"] == round(score.output / score.photo, 3)
    bicubic = false_texture(bicubic_upscale(lr, 2).double() / 255, hr.double() / 255, 2)
    assert record["bicubic_false_texture"] == round(bicubic.output / bicubic.photo, 3) < record["false_texture"]
    busy = tmp_path / "busy"
    busy.mkdir()
    save_8bit(busy / "b.png", random_channels(generator, 3, 40, 40))
    assert json.loads(cli("bench", "--data", busy, "--model", model, "--json").stdout)["false_texture"] is None


def bench_and_upscale(cli, folder, tmp_path):
    """``srcli bench`` of ``folder`` (one photo, ``a.png``) with a small random ×2 model, and the same model's
    upscale of the photo's LR through ``srcli upscale``: the model's path, the bench record, the HR and LR
    ``(1, 3, ·, ·)`` uint8 and the saved output ``(1, 3, H, W)`` in [0, 1]."""
    from srcli.io.images import read_picture

    model = tmp_path / "m.safetensors"
    torch.manual_seed(0)
    save_checkpoint(model, SRVGGNetCompact(3, 8, 2, 2), {"task": "sr"})
    record = json.loads(cli("bench", "--data", folder, "--model", model, "--json").stdout)
    hr, lr = protocol_pair(folder / "a.png", 2)
    save_8bit(tmp_path / "lr.png", lr[0])
    assert cli("upscale", tmp_path / "lr.png", "--model", model, "-o", tmp_path / "sr.png", "-q").exit_code == 0
    return model, record, hr, lr, read_picture(tmp_path / "sr.png").color.unsqueeze(0).double() / 255
