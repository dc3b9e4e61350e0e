"""``srcli train usrnet``: a few real steps through the CLI, an exact resume, the batches it draws, its kernels."""

from __future__ import annotations

import csv

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from srcli.archs.usrnet import CircularDegradation, USRNet
from srcli.checkpoints.load import load_model, read_metadata
from srcli.errors import TrainError
from srcli.train.data import load_training_images
from srcli.train.kernels import random_kernel, trajectory_kernel
from srcli.train.usrnet import USRNetTask, USRNetTrainConfig, identity_prior, train_usrnet
from tests.images import random_channels, training_folders

TINY = {"iterations": 2, "channels": "4,8,8,8", "blocks": 1, "hyper_feat": 8, "batch": 2, "patch": 24,
        "kernel_size": 7}  # fmt: skip


@pytest.fixture
def folders(tmp_path, generator):
    train_images = [random_channels(generator, 3, 36, 40) for _ in range(3)]
    return training_folders(tmp_path, train_images, random_channels(generator, 3, 30, 28))


def config(folders, tmp_path, name: str, **overrides) -> USRNetTrainConfig:
    train, val = folders
    settings = {"data": train, "val": val, "out": tmp_path / f"{name}.safetensors", "run_dir": tmp_path / name,
                "steps": 4, "val_every": 2, "seed": 5, **TINY}  # fmt: skip
    return USRNetTrainConfig(**(settings | overrides))


def test_a_few_steps_through_the_cli_write_weights_log_and_plot(folders, tmp_path, cli):
    train, val = folders
    sizes = [f"--{key.replace('_', '-')}={value}" for key, value in TINY.items()]
    out, run = tmp_path / "u.safetensors", tmp_path / "run"
    result = cli("train", "usrnet", "--data", train, "--val", val, "--out", out, "--run-dir", run,
                 "--steps", "2", "--val-every", "1", "--threads", "1", *sizes)  # fmt: skip
    assert result.exit_code == 0, result.output
    model, header = load_model(tmp_path / "u.safetensors")
    assert (model.arch, model.task, header["task"], header["scales"]) == ("usrnet", "kernel", "kernel", "1,2,3,4")
    assert header["command"].startswith("srcli train usrnet") and "--channels 4,8,8,8" in header["command"]
    with (tmp_path / "run" / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["step"] for row in rows] == ["1", "2"]
    assert all(float(row[f"val_x{scale}"]) > 0 for row in rows for scale in (1, 2, 3, 4))
    assert (tmp_path / "run" / "convergence.png").is_file() and (tmp_path / "run" / "best.safetensors").is_file()


def test_resume_repeats_the_uninterrupted_run(folders, tmp_path):
    torch.set_num_threads(1)
    train_usrnet(config(folders, tmp_path, "straight"), resume=False, report=lambda row: None)
    train_usrnet(config(folders, tmp_path, "split", stop_at=2), resume=False, report=lambda row: None)
    assert read_metadata(tmp_path / "split.safetensors")["steps"] == "2"
    train_usrnet(config(folders, tmp_path, "split"), resume=True, report=lambda row: None)
    straight = load_file(str(tmp_path / "straight" / "state.safetensors"))
    split = load_file(str(tmp_path / "split" / "state.safetensors"))
    assert straight.keys() == split.keys() and all(torch.equal(straight[key], split[key]) for key in straight)
    with pytest.raises(TrainError, match="other settings"):
        train_usrnet(config(folders, tmp_path, "split", max_noise=10.0), resume=True, report=lambda row: None)


def test_a_batch_is_one_scale_with_a_kernel_and_noise_per_patch_made_as_the_data_step_inverts(folders, tmp_path):
    task = USRNetTask(config(folders, tmp_path, "draw", max_noise=0.0))
    task.prepare(load_training_images(folders[0], task.min_side), [], print)
    task.wrap(USRNet(n_iter=1, h_nc=4, nc=(4, 4, 4, 4), nb=1))
    scales = set()
    for seed in range(12):
        lr, hr = task.draw_batch(torch.Generator().manual_seed(seed))
        scales.add(task.scale)
        assert hr.shape == (2, 3, 24, 24) and lr.shape == (2, 3, 24 // task.scale, 24 // task.scale)
        assert task.kernels.shape == (2, 1, 7, 7) and torch.allclose(task.kernels.sum((-2, -1)), torch.ones(2, 1))
        clean = CircularDegradation(task.kernels, task.scale, 24, 24).A(hr)
        assert (lr - clean).abs().max() <= 0.5 / 255 + 1e-6  # noiseless here: only the 8-bit rounding
        assert torch.equal(lr * 255, (lr * 255).round())
    assert scales == {1, 2, 3, 4}
    again, _ = task.draw_batch(torch.Generator().manual_seed(0))
    assert torch.equal(again, task.draw_batch(torch.Generator().manual_seed(0))[0])


def test_bad_settings_are_refused(folders, tmp_path):
    with pytest.raises(TrainError, match=r"^channels "):
        config(folders, tmp_path, "bad", channels="4,8,8")
    with pytest.raises(TrainError, match=r"^scales "):
        config(folders, tmp_path, "bad", scales="1,5")
    with pytest.raises(TrainError, match="multiple of every scale"):
        config(folders, tmp_path, "bad", patch=26)
    with pytest.raises(TrainError, match=r"^kernel_size "):
        config(folders, tmp_path, "bad", kernel_size=8)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), scale=st.integers(1, 4), size=st.sampled_from([9, 15, 25]))
def test_random_kernels_are_normalised_centred_and_repeatable(seed, scale, size):
    kernel = random_kernel(torch.Generator().manual_seed(seed), scale, size)
    assert kernel.shape == (size, size) and float(kernel.sum()) == pytest.approx(1.0)
    assert torch.equal(kernel, random_kernel(torch.Generator().manual_seed(seed), scale, size))
    motion = trajectory_kernel(torch.Generator().manual_seed(seed), size)
    assert (motion >= 0).all() and float(motion.sum()) == pytest.approx(1.0)
    offsets = torch.arange(size, dtype=torch.float64) - size // 2
    centre = (float((motion.sum(1) * offsets).sum()), float((motion.sum(0) * offsets).sum()))
    assert max(abs(c) for c in centre) < 0.5  # its centre of mass is the middle pixel: the blur shifts nothing


def test_the_prior_starts_as_the_identity_and_every_weight_learns_within_a_few_steps(generator):
    torch.manual_seed(0)
    net = USRNet(n_iter=2, h_nc=8, nc=(8, 8, 16, 16), nb=2)
    identity_prior(net)
    x = torch.rand(2, 4, 20, 28, generator=generator)
    assert torch.equal(net.p(x), x[:, :3])
    before = {name: value.clone() for name, value in net.named_parameters()}
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    kernel = torch.ones(2, 1, 3, 3) / 9
    for _ in range(8):  # the zero transposed convolutions open the decoder one level per step
        y, target = torch.rand(2, 3, 6, 7, generator=generator), torch.rand(2, 3, 12, 14, generator=generator)
        optimizer.zero_grad()
        torch.nn.functional.l1_loss(net(y, kernel, 2, torch.full((2, 1, 1, 1), 0.01)), target).backward()
        optimizer.step()
    frozen = [name for name, value in net.named_parameters() if torch.equal(value, before[name])]
    assert frozen == [], frozen
