"""``srcli train cs``: the LMMSE stage, the block statistics, a few real steps, clear errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.archs.csnet import CSNet
from srcli.checkpoints.load import load_network
from srcli.errors import TrainError
from srcli.maths.operators import BlockCS
from srcli.train.cs import CSTrainConfig, block_statistics, lmmse_initial, train_cs
from tests.cli.test_cs import RATIO, reconstruct, sample, smooth_channels
from tests.images import save_8bit, training_folders


@settings(max_examples=20, deadline=None)
@given(ratio=st.sampled_from([0.1, 0.25, 0.5]), seed=st.integers(0, 2**16))
def test_lmmse_stage_is_consistent_and_beats_the_adjoint(ratio, seed):
    """``A x₀ = y`` for every ``y``, and on data with the assumed covariance x₀ beats ``Aᵀy``."""
    generator = torch.Generator().manual_seed(seed)
    operator = BlockCS(ratio, block=8, seed=seed)
    factor = torch.randn(64, 8, generator=generator, dtype=torch.float64)
    covariance = factor @ factor.T + 0.01 * torch.eye(64, dtype=torch.float64)
    mean = torch.rand(64, generator=generator, dtype=torch.float64)
    weight, bias = lmmse_initial(mean, covariance, operator.rows)
    y = torch.randn(200, operator.m, generator=generator, dtype=torch.float64)
    assert torch.allclose((y @ weight.T + bias) @ operator.rows.T, y, atol=1e-8)
    x = mean + torch.randn(500, 8, generator=generator, dtype=torch.float64) @ factor.T
    measured = x @ operator.rows.T
    lmmse_error = (measured @ weight.T + bias - x).square().mean()
    adjoint_error = (measured @ operator.rows - x).square().mean()
    assert lmmse_error < adjoint_error


def test_block_statistics_of_known_blocks(generator):
    image = torch.full((3, 64, 64), 51, dtype=torch.uint8)
    mean, covariance = block_statistics([image], 32, generator)
    assert torch.allclose(mean, torch.full((1024,), 0.2, dtype=torch.float64))
    assert covariance.abs().max() < 1e-12


def test_a_few_training_steps_write_a_usable_model(tmp_path, generator, cli):
    train_images = [smooth_channels(generator, 3, 70, 80) for _ in range(3)]
    train, val = training_folders(tmp_path, train_images, smooth_channels(generator, 3, 40, 40))
    config = CSTrainConfig(
        ratio=RATIO, data=train, val=val, out=tmp_path / "cs.safetensors", run_dir=tmp_path / "run",
        num_feat=8, num_conv=1, steps=4, batch=2, patch=64, val_every=2,
    )  # fmt: skip
    train_cs(config, resume=False, report=lambda row: None)
    net, metadata = load_network(config.out)
    assert isinstance(net, CSNet) and metadata["ratio"] == str(RATIO) and metadata["sensing_seed"] == "0"
    assert "srcli train cs --ratio 0.25" in metadata["command"]
    assert (tmp_path / "run" / "convergence.png").is_file()
    image = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 48, 48))
    sample(cli, image, tmp_path / "m.safetensors")
    assert reconstruct(cli, tmp_path / "m.safetensors", tmp_path / "o.png", config.out)["consistency_psnr_db"] >= 100


def test_cs_training_with_a_patch_off_the_block_grid_is_refused(tmp_path):
    config = CSTrainConfig(ratio=RATIO, data=tmp_path, out=tmp_path / "o.safetensors", run_dir=tmp_path, patch=40)
    with pytest.raises(TrainError, match="multiple of the block"):
        train_cs(config, resume=False)
