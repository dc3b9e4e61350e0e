"""``srcli train naturalness`` and ``srcli train gan --naturalness``: copies that keep the LR, a few
classifier steps, the frozen verdict in the generator's loss, clear errors."""

from __future__ import annotations

import csv

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from srcli.checkpoints.load import read_metadata
from srcli.errors import TrainError
from srcli.maths.operators import AvgPool
from srcli.train.gan import GANTrainConfig, train_gan
from srcli.train.naturalness import (
    NaturalnessNet,
    NaturalnessTrainConfig,
    blurred_copies,
    load_naturalness,
    noisy_copies,
    train_naturalness,
)
from tests.images import random_channels, training_folders


@pytest.fixture
def folders(tmp_path, generator):
    train_images = [random_channels(generator, 3, 40, 44) for _ in range(3)]
    return training_folders(tmp_path, train_images, random_channels(generator, 3, 24, 24))


def classifier(folders, tmp_path, name: str = "nat", **overrides) -> NaturalnessTrainConfig:
    train, val = folders
    settings = dict(
        scale=2, data=train, val=val, out=tmp_path / f"{name}.safetensors", run_dir=tmp_path / name,
        num_feat=4, steps=4, batch=4, patch=16, val_every=2, seed=1, lr=1e-3,
    )  # fmt: skip
    return NaturalnessTrainConfig(**(settings | overrides))


def gan(folders, tmp_path, name: str, **overrides) -> GANTrainConfig:
    train, val = folders
    settings = dict(
        scale=2, data=train, val=val, out=tmp_path / f"{name}.safetensors", run_dir=tmp_path / name,
        num_feat=8, num_conv=2, d_feat=4, steps=4, batch=2, patch=8, val_every=2, seed=3,
    )  # fmt: skip
    return GANTrainConfig(**(settings | overrides))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.sampled_from([2, 3, 4]), blur=st.floats(0.1, 1.0))
def test_the_unnatural_copies_keep_the_photos_box_means_exactly(seed, scale, blur):
    generator = torch.Generator().manual_seed(seed)
    hr = torch.rand(2, 3, 4 * scale, 3 * scale, generator=generator, dtype=torch.float64)
    operator = AvgPool(scale)
    for copy in (blurred_copies(hr, scale, blur), noisy_copies(hr.float(), scale, 0.05, generator).double()):
        assert torch.allclose(operator.A(copy), operator.A(hr), atol=1e-6)
        assert (copy - hr).abs().max() > 1e-3  # and differ from it in the null space


def test_a_few_classifier_steps_write_a_frozen_discriminator(folders, tmp_path, cli):
    torch.set_num_threads(1)
    train, val = folders
    out, run_dir = tmp_path / "nat.safetensors", tmp_path / "nat"
    result = cli(
        "train", "naturalness", "--scale", "2", "--data", train, "--val", val, "--out", out, "--run-dir", run_dir,
        "--num-feat", "4", "--steps", "4", "--batch", "4", "--patch", "16", "--val-every", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with (run_dir / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["step"] for row in rows] == ["2", "4"] and all(0 <= float(r["val_accuracy"]) <= 1 for r in rows)
    progress = [line for line in result.stderr.splitlines() if line.startswith("step=")]
    assert len(progress) == 2 and all("val_accuracy=" in line and "val_psnr_y" not in line for line in progress)
    header = read_metadata(out)
    assert header["format"] == "srcli-naturalness" and header["scale"] == "2" and header["steps"] == "4"
    assert header["command"].startswith("srcli train naturalness --scale 2") and "--blur 0.5" in header["command"]
    net = load_naturalness(out, 2)
    assert isinstance(net, NaturalnessNet) and not net.training
    assert not any(p.requires_grad for p in net.parameters())
    assert net(torch.rand(3, 3, 16, 24)).shape == (3,)
    with pytest.raises(TrainError, match="judges x2 outputs, not x4"):
        load_naturalness(out, 4)


def test_its_verdict_joins_the_generators_loss_and_its_content_the_schedule(folders, tmp_path):
    torch.set_num_threads(1)
    weights = train_naturalness(classifier(folders, tmp_path), resume=False, report=lambda row: None)
    train_gan(gan(folders, tmp_path, "plain"), resume=False, report=lambda row: None)
    train_gan(gan(folders, tmp_path, "judged", naturalness=weights, stop_at=2), resume=False, report=lambda r: None)
    with (tmp_path / "judged" / "log.csv").open() as handle:
        row = next(csv.DictReader(handle))
    assert float(row["nat"]) > 0
    plain, judged = load_file(str(tmp_path / "plain.safetensors")), load_file(str(tmp_path / "judged.safetensors"))
    assert "--naturalness" in read_metadata(tmp_path / "judged.safetensors")["command"]
    assert "--naturalness" not in read_metadata(tmp_path / "plain.safetensors")["command"]
    assert plain.keys() == judged.keys()
    train_naturalness(classifier(folders, tmp_path, "other", seed=2, out=weights), False, lambda row: None)  # changed
    with pytest.raises(TrainError, match="other settings"):
        train_gan(gan(folders, tmp_path, "judged", naturalness=weights), resume=True, report=lambda r: None)


def test_missing_or_foreign_naturalness_weights_are_refused(folders, tmp_path):
    with pytest.raises(TrainError, match="naturalness weights not found"):
        gan(folders, tmp_path, "run", naturalness=tmp_path / "missing.safetensors")
    sr_weights = tmp_path / "sr.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(sr_weights), metadata={"format": "srcli"})
    with pytest.raises(TrainError, match="not a naturalness discriminator"):
        load_naturalness(sr_weights, 2)
    with pytest.raises(TrainError, match=r"^patch must be a multiple of the scale"):
        classifier(folders, tmp_path, patch=15)
