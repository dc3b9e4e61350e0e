"""``srcli train sr``: a few real steps, checkpoints that resume exactly, the exported weights."""

from __future__ import annotations

import csv
import functools
import json
import os
import signal
import stat
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.torch import load_file

from srcli.archs.compact import SRVGGNetCompact
from srcli.checkpoints.load import load_model, load_network, read_metadata
from srcli.errors import TrainError
from srcli.io.degradation_spec import separable
from srcli.io.images import pil_to_tensor, tensor_to_pil
from srcli.maths.box import box_rounded
from srcli.maths.operators import AvgPool
from srcli.train.data import load_training_images, sample_batch, sample_pairs
from srcli.train.loop import BEST_WEIGHTS, format_duration, keep_if_best
from srcli.train.sr import (
    CHROMA_SHARE,
    LUMA_WEIGHTS,
    DegradedPD,
    SRTrainConfig,
    box_lr,
    degraded_lr,
    loss_band,
    luma_l1,
    train_sr,
)
from srcli.train.teacher import load_teacher, with_targets
from tests.images import random_channels, save_8bit, training_folders


@pytest.fixture
def folders(tmp_path, generator):
    train_images = [random_channels(generator, 3, 40, 44) for _ in range(3)]
    return training_folders(tmp_path, train_images, random_channels(generator, 3, 24, 24))


def config(folders, tmp_path, name: str, **overrides) -> SRTrainConfig:
    train, val = folders
    settings = dict(
        scale=2,
        data=train,
        val=val,
        out=tmp_path / f"{name}.safetensors",
        run_dir=tmp_path / name,
        num_feat=8,
        num_conv=2,
        steps=6,
        batch=2,
        patch=8,
        val_every=2,
        seed=3,
    )
    return SRTrainConfig(**(settings | overrides))


def run_small(cli, folders, tmp_path, name: str, *options: str, steps: int = 2, val_every: int = 1):
    """``srcli train sr`` of a tiny net, writing ``tmp_path/name.safetensors`` and ``tmp_path/name``."""
    train, val = folders
    sizes = ["--num-feat", "8", "--num-conv", "2", "--batch", "2", "--patch", "8"]
    schedule = ["--steps", str(steps), "--val-every", str(val_every)]
    out, run_dir = tmp_path / f"{name}.safetensors", tmp_path / name
    return cli(
        "train",
        "sr",
        "--scale",
        "2",
        "--data",
        train,
        "--val",
        val,
        *sizes,
        *schedule,
        "--out",
        out,
        "--run-dir",
        run_dir,
        *options,
    )


def test_a_few_steps_write_weights_log_and_plot(folders, tmp_path, cli):
    result = run_small(cli, folders, tmp_path, "run", steps=4, val_every=2)
    out = tmp_path / "run.safetensors"
    assert result.exit_code == 0, result.output
    with (tmp_path / "run" / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["step"] for row in rows] == ["2", "4"]
    assert all(float(row["val_psnr_y"]) > 0 for row in rows)
    assert (tmp_path / "run" / "convergence.png").stat().st_size > 0
    net, metadata = load_network(out)
    assert net.scale == 2 and metadata["task"] == "sr" and metadata["pd"] == "true"
    assert metadata["steps"] == "4" and metadata["command"].startswith("srcli train sr")
    progress = [line for line in result.stderr.splitlines() if line.startswith("step=")]
    assert len(progress) == 2 and all(line.endswith("m") and "left=" in line for line in progress)


def test_resume_repeats_the_uninterrupted_run(folders, tmp_path):
    torch.set_num_threads(1)
    train_sr(config(folders, tmp_path, "straight"), resume=False, report=lambda row: None)
    train_sr(config(folders, tmp_path, "split", stop_at=3), resume=False, report=lambda row: None)
    assert read_metadata(tmp_path / "split.safetensors")["steps"] == "3"
    train_sr(config(folders, tmp_path, "split"), resume=True, report=lambda row: None)
    straight = load_file(str(tmp_path / "straight" / "state.safetensors"))
    split = load_file(str(tmp_path / "split" / "state.safetensors"))
    assert straight.keys() == split.keys()
    assert all(torch.equal(straight[key], split[key]) for key in straight)

    def final_row(name: str) -> dict[str, str]:
        with (tmp_path / name / "log.csv").open() as handle:
            return list(csv.DictReader(handle))[-1]

    assert final_row("straight")["val_psnr_y"] == final_row("split")["val_psnr_y"]


def test_every_file_of_a_run_has_the_permissions_a_plain_write_gives(folders, tmp_path):
    saved = os.umask(0o022)
    try:
        train_sr(config(folders, tmp_path, "run", steps=2), resume=False, report=lambda row: None)
    finally:
        os.umask(saved)
    written = [tmp_path / "run.safetensors", *(tmp_path / "run").iterdir()]
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in written} == {p.name: 0o644 for p in written}
    assert not [path for path in (tmp_path / "run").iterdir() if path.name.endswith(".tmp")]


def test_existing_run_needs_resume(folders, tmp_path):
    train_sr(config(folders, tmp_path, "run", steps=2), resume=False, report=lambda row: None)
    with pytest.raises(TrainError, match="--resume"):
        train_sr(config(folders, tmp_path, "run", steps=2), resume=False, report=lambda row: None)


def test_resume_with_other_settings_is_refused(folders, tmp_path):
    train_sr(config(folders, tmp_path, "run", steps=2), resume=False, report=lambda row: None)
    with pytest.raises(TrainError, match="other settings"):
        train_sr(config(folders, tmp_path, "run", steps=2, num_feat=4), resume=True, report=lambda row: None)


def test_mse_loss_is_trained_recorded_and_part_of_the_schedule(folders, tmp_path, cli):
    run = functools.partial(run_small, cli, folders, tmp_path)
    assert run("l1").exit_code == 0 and run("mse", "--loss", "mse").exit_code == 0
    # Same start and first batch: the squared errors (all under 1) average below the absolute ones.
    assert float(read_losses(tmp_path / "mse" / "log.csv")[0]) < float(read_losses(tmp_path / "l1" / "log.csv")[0])
    assert "--loss mse" in read_metadata(tmp_path / "mse.safetensors")["command"]
    assert "--loss" not in read_metadata(tmp_path / "l1.safetensors")["command"]
    refused = run("mse", "--resume")
    assert refused.exit_code == 2 and "other settings" in refused.stderr


def test_smooth_correction_is_trained_recorded_and_part_of_the_schedule(folders, tmp_path, cli):
    run = functools.partial(run_small, cli, folders, tmp_path)
    assert run("nearest").exit_code == 0 and run("smooth", "--correction", "smooth").exit_code == 0
    # Same start and batches: only the right inverse inside the forward pass differs.
    assert read_losses(tmp_path / "smooth" / "log.csv") != read_losses(tmp_path / "nearest" / "log.csv")
    header = read_metadata(tmp_path / "smooth.safetensors")
    assert header["correction"] == "smooth" and "--correction smooth" in header["command"]
    assert load_model(tmp_path / "smooth.safetensors")[0].correction == "smooth"
    assert load_model(tmp_path / "nearest.safetensors")[0].correction == "nearest"
    refused = run("smooth", "--resume")
    assert refused.exit_code == 2 and "other settings" in refused.stderr


def test_a_bilinear_skip_is_trained_recorded_loaded_and_part_of_the_schedule(folders, tmp_path, cli):
    run = functools.partial(run_small, cli, folders, tmp_path)
    assert run("nearest").exit_code == 0 and run("bilinear", "--skip", "bilinear").exit_code == 0
    assert read_losses(tmp_path / "bilinear" / "log.csv") != read_losses(tmp_path / "nearest" / "log.csv")
    assert json.loads(read_metadata(tmp_path / "bilinear.safetensors")["config"])["skip"] == "bilinear"
    assert load_model(tmp_path / "bilinear.safetensors")[0].net.skip == "bilinear"
    assert load_model(tmp_path / "nearest.safetensors")[0].net.skip == "nearest"
    refused = run("bilinear", "--resume")
    assert refused.exit_code == 2 and "other settings" in refused.stderr


def test_a_skip_on_an_architecture_without_one_is_one_line(folders, tmp_path, cli):
    result = run_small(cli, folders, tmp_path, "srresnet", "--arch", "srresnet", "--skip", "bilinear")
    assert result.exit_code == 2 and "compact" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), size=st.floats(0.01, 0.2))
def test_luma_loss_weighs_luma_errors_and_keeps_a_share_of_colour_ones(seed, size):
    generator = torch.Generator().manual_seed(seed)
    target = torch.rand(2, 3, 6, 5, generator=generator)
    chroma = torch.linalg.cross(LUMA_WEIGHTS, torch.tensor([1.0, 0.0, 0.0]))  # leaves luma unchanged
    grey = torch.ones(3)  # changes luma by the weights' sum
    for direction, luma_gain in ((chroma / chroma.abs().max(), 0.0), (grey, float(LUMA_WEIGHTS.sum()))):
        sign = torch.randint(0, 2, (2, 1, 6, 5), generator=generator) * 2 - 1
        error = size * sign * direction.view(1, 3, 1, 1)
        rgb_l1 = error.abs().mean()
        expected = luma_gain * size + CHROMA_SHARE * rgb_l1
        assert luma_l1(target + error, target) == pytest.approx(float(expected), rel=1e-4, abs=1e-7)


def test_luma_loss_is_recorded_and_part_of_the_schedule(folders, tmp_path, cli):
    assert run_small(cli, folders, tmp_path, "luma", "--loss", "l1-luma").exit_code == 0
    assert "--loss l1-luma" in read_metadata(tmp_path / "luma.safetensors")["command"]
    refused = run_small(cli, folders, tmp_path, "luma", "--resume")
    assert refused.exit_code == 2 and "other settings" in refused.stderr


def test_rescaled_copies_join_the_training_photos(tmp_path, generator):
    folder = tmp_path / "photos"
    folder.mkdir()
    save_8bit(folder / "p.png", random_channels(generator, 3, 40, 44))
    shapes = [tuple(image.shape) for image in load_training_images(folder, 8, (0.5, 0.25))]
    assert shapes == [(3, 40, 44), (3, 20, 22), (3, 10, 11)]
    assert [tuple(image.shape) for image in load_training_images(folder, 20, (0.5, 0.25))] == shapes[:2]


def test_rescale_is_recorded_and_part_of_the_schedule(folders, tmp_path, cli):
    assert run_small(cli, folders, tmp_path, "plain").exit_code == 0
    assert run_small(cli, folders, tmp_path, "rescaled", "--rescale", "0.8", "--rescale", "0.6").exit_code == 0
    assert "--rescale 0.8 --rescale 0.6" in read_metadata(tmp_path / "rescaled.safetensors")["command"]
    assert "--rescale" not in read_metadata(tmp_path / "plain.safetensors")["command"]
    refused = run_small(cli, folders, tmp_path, "rescaled", "--resume")
    assert refused.exit_code == 2 and "other settings" in refused.stderr
    resumed = run_small(cli, folders, tmp_path, "rescaled", "--rescale", "0.8", "--rescale", "0.6", "--resume")
    assert resumed.exit_code == 0, resumed.stderr


def test_rescale_outside_zero_one_is_refused(folders, tmp_path, cli):
    result = run_small(cli, folders, tmp_path, "bad", "--rescale", "1.5")
    assert result.exit_code == 2 and "--rescale" in result.stderr


def test_missing_data_folder_is_a_clear_error(tmp_path, cli):
    result = cli("train", "sr", "--scale", "2", "--data", tmp_path / "nope", "--out", tmp_path / "w.safetensors")
    assert result.exit_code == 2 and "training folder not found" in result.stderr


def test_config_is_recorded(folders, tmp_path):
    train_sr(config(folders, tmp_path, "run", steps=2), resume=False, report=lambda row: None)
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())
    assert recorded["num_feat"] == 8 and recorded["pd"] is True


def test_init_starts_from_given_weights(folders, tmp_path):
    first = train_sr(config(folders, tmp_path, "first", steps=2), resume=False, report=lambda row: None)
    second = config(folders, tmp_path, "second", steps=2, init=first, lr=1e-12, lr_min=1e-12)
    train_sr(second, resume=False, report=lambda row: None)
    before, after = load_file(str(first)), load_file(str(second.out))
    assert all(torch.allclose(before[key], after[key], atol=1e-6) for key in before)
    assert "--init" in read_metadata(second.out)["command"]
    first_header, second_header = read_metadata(first), read_metadata(second.out)
    total = float(first_header["train_seconds"]) + float(second_header["train_seconds"])
    assert float(second_header["train_seconds_total"]) == pytest.approx(total, abs=0.1)


def test_init_from_a_smaller_scale_starts_as_its_output_upsampled(folders, tmp_path):
    source = train_sr(config(folders, tmp_path, "x2", steps=2), resume=False, report=lambda row: None)
    target = config(folders, tmp_path, "x4", scale=4, patch=4, steps=1, init=source, lr=1e-12, lr_min=1e-12)
    train_sr(target, resume=False, report=lambda row: None)
    (x2, _), (x4, _) = load_network(source), load_network(target.out)
    lr = torch.rand(1, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = torch.nn.functional.interpolate(x2(lr), scale_factor=2, mode="nearest")
        assert torch.allclose(x4(lr), expected, atol=1e-5)


def test_init_from_a_shallower_net_starts_as_its_output(folders, tmp_path):
    source = train_sr(config(folders, tmp_path, "shallow", steps=2), resume=False, report=lambda row: None)
    target = config(folders, tmp_path, "deep", num_conv=5, steps=1, init=source, lr=1e-12, lr_min=1e-12)
    train_sr(target, resume=False, report=lambda row: None)
    (shallow, _), (deep, _) = load_network(source), load_network(target.out)
    assert (shallow.num_conv, deep.num_conv) == (2, 5)
    lr = torch.rand(1, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.allclose(deep(lr), shallow(lr), atol=1e-5)


def test_a_warm_restart_from_a_shallower_run_state_starts_as_its_network(folders, tmp_path):
    train_sr(config(folders, tmp_path, "shallow", steps=2), resume=False, report=lambda row: None)
    state = tmp_path / "shallow" / "state.safetensors"
    target = config(folders, tmp_path, "deep", num_conv=5, steps=1, init=state, lr=0.0, lr_min=0.0)
    train_sr(target, resume=False, report=lambda row: None)
    before, after = load_file(str(state)), load_file(str(tmp_path / "deep" / "state.safetensors"))
    assert int(before["optim.0.step"]) == 2 and int(after["optim.0.step"]) == 1  # a fresh Adam for the deeper net
    shallow = SRVGGNetCompact(3, 8, 2, 2).eval()
    shallow.load_state_dict({key[len("model.") :]: value for key, value in before.items() if key.startswith("model.")})
    deep = load_network(target.out)[0]
    lr = torch.rand(1, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert deep.num_conv == 5 and torch.allclose(deep(lr), shallow(lr), atol=1e-5)


def test_init_from_a_scale_that_does_not_divide_keeps_the_body_and_resamples_the_sub_pixels(folders, tmp_path):
    source = train_sr(config(folders, tmp_path, "x2", steps=2), resume=False, report=lambda row: None)
    target = config(folders, tmp_path, "x3", scale=3, patch=4, steps=1, init=source, lr=1e-12, lr_min=1e-12)
    train_sr(target, resume=False, report=lambda row: None)
    before, after = load_file(str(source)), load_file(str(target.out))
    last = f"body.{max(int(key.split('.')[1]) for key in before)}."
    body = [key for key in before if not key.startswith(last)]
    assert all(torch.allclose(before[key], after[key], atol=1e-6) for key in body)
    rows = [0, 0, 1]  # floor(i·2/3): the x3 sub-pixel (i, j) starts as the x2 sub-pixel (rows[i], rows[j])
    channels = [c * 4 + 2 * rows[i] + rows[j] for c in range(3) for i in range(3) for j in range(3)]
    for name in ("weight", "bias"):
        assert torch.allclose(after[last + name], before[last + name][channels], atol=1e-6)


def test_init_that_does_not_fit_is_a_clear_error(folders, tmp_path):
    source = train_sr(config(folders, tmp_path, "x2", steps=2), resume=False, report=lambda row: None)
    with pytest.raises(TrainError, match=r"does not fit.*size mismatch"):
        train_sr(config(folders, tmp_path, "wide", num_feat=12, init=source), resume=False, report=lambda r: None)
    with pytest.raises(TrainError, match=r"does not fit.*2 convolutions cannot start one with 1"):
        train_sr(config(folders, tmp_path, "shallow", num_conv=1, init=source), resume=False, report=lambda r: None)


def test_bad_decay_is_a_clear_error(folders, tmp_path):
    with pytest.raises(TrainError, match=r"^ema must be in \[0, 1\), got 1.5$"):
        config(folders, tmp_path, "run", ema=1.5)


def read_losses(path) -> list[str]:
    with path.open() as handle:
        return [row["loss"] for row in csv.DictReader(handle)]


def test_average_is_exported_and_training_is_unchanged(folders, tmp_path):
    torch.set_num_threads(1)
    train_sr(config(folders, tmp_path, "plain"), resume=False, report=lambda row: None)
    train_sr(config(folders, tmp_path, "averaged", ema=0.5), resume=False, report=lambda row: None)
    assert read_losses(tmp_path / "plain" / "log.csv") == read_losses(tmp_path / "averaged" / "log.csv")
    plain_state = load_file(str(tmp_path / "plain" / "state.safetensors"))
    averaged_state = load_file(str(tmp_path / "averaged" / "state.safetensors"))
    exported = load_file(str(tmp_path / "averaged.safetensors"))
    for name, tensor in exported.items():
        assert torch.equal(plain_state[f"model.{name}"], averaged_state[f"model.{name}"])
        assert torch.equal(tensor, averaged_state[f"ema.{name}"])
    assert any(not torch.equal(t, averaged_state[f"model.{n}"]) for n, t in exported.items())


def test_the_best_validated_weights_are_kept(folders, tmp_path):
    torch.set_num_threads(1)
    run = config(folders, tmp_path, "run", steps=8)
    train_sr(run, resume=False, report=lambda row: None)
    with (run.run_dir / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    best_row = max(rows, key=lambda row: float(row["val_psnr_y"]))  # the first of equals, as the run keeps
    metadata = read_metadata(run.run_dir / BEST_WEIGHTS)
    assert (metadata["steps"], metadata["val_psnr_y"]) == (best_row["step"], best_row["val_psnr_y"])


def test_a_lower_or_missing_validation_leaves_the_best_weights(folders, tmp_path):
    run = config(folders, tmp_path, "run")
    run.run_dir.mkdir()
    best = run.run_dir / BEST_WEIGHTS
    history: list[dict[str, str]] = []
    for export, value, kept in [
        ("first", "30.0", "first"),
        ("lower", "29.0", "first"),
        ("equal", "30.0", "first"),
        ("unvalidated", "nan", "first"),
        ("higher", "30.5", "higher"),
    ]:
        run.out.write_text(export)
        keep_if_best(run, history, {"val_psnr_y": value})
        history.append({"val_psnr_y": value})
        assert best.read_text() == kept


def test_resume_repeats_the_uninterrupted_average(folders, tmp_path):
    torch.set_num_threads(1)
    train_sr(config(folders, tmp_path, "straight", ema=0.5), resume=False, report=lambda row: None)
    train_sr(config(folders, tmp_path, "split", ema=0.5, stop_at=3), resume=False, report=lambda row: None)
    train_sr(config(folders, tmp_path, "split", ema=0.5), resume=True, report=lambda row: None)
    straight, split = load_file(str(tmp_path / "straight.safetensors")), load_file(str(tmp_path / "split.safetensors"))
    assert all(torch.equal(straight[name], split[name]) for name in straight)


def test_average_can_start_when_resuming_a_run_without_one(folders, tmp_path):
    torch.set_num_threads(1)
    train_sr(config(folders, tmp_path, "run", stop_at=3), resume=False, report=lambda row: None)
    train_sr(config(folders, tmp_path, "run", ema=0.5), resume=True, report=lambda row: None)
    state = load_file(str(tmp_path / "run" / "state.safetensors"))
    assert any(key.startswith("ema.") for key in state)


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_bad_validation_folder_is_refused_before_training(folders, tmp_path, folder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrainError, match="validation folder not found" if folder == "missing" else "no image"):
        train_sr(config(folders, tmp_path, "run", val=tmp_path / folder), resume=False, report=lambda row: None)
    assert not (tmp_path / "run.safetensors").exists()


def test_every_report_says_how_long_the_schedule_has_left(folders, tmp_path):
    rows = []
    train_sr(config(folders, tmp_path, "run"), resume=False, report=rows.append)
    assert [row["step"] for row in rows] == ["2", "4", "6"]
    assert rows[-1]["left"] == "0m" and all(row["left"].endswith("m") for row in rows)


@pytest.mark.parametrize(("seconds", "text"), [(0, "0m"), (89, "1m"), (3600, "1h00m"), (11100, "3h05m")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_checkpoints_after_the_current_step_and_resume_finishes_the_run(folders, tmp_path, sig):
    torch.set_num_threads(1)
    train_sr(config(folders, tmp_path, "straight"), resume=False, report=lambda row: None)
    handler_before = signal.getsignal(signal.SIGINT)  # SIG_IGN where the tests run as a background job
    signalled = []

    def signal_once(row: dict[str, str]) -> None:
        if not signalled:
            signalled.append(row["step"])
            os.kill(os.getpid(), sig)

    train_sr(config(folders, tmp_path, "split"), resume=False, report=signal_once)
    assert signalled == ["2"] and read_metadata(tmp_path / "split.safetensors")["steps"] == "3"
    assert signal.getsignal(signal.SIGINT) is handler_before
    train_sr(config(folders, tmp_path, "split"), resume=True, report=lambda row: None)
    straight = load_file(str(tmp_path / "straight" / "state.safetensors"))
    split = load_file(str(tmp_path / "split" / "state.safetensors"))
    assert all(torch.equal(straight[key], split[key]) for key in straight)


def test_resume_reads_neither_the_init_weights_nor_their_header_again(folders, tmp_path):
    first = train_sr(config(folders, tmp_path, "first", steps=2), resume=False, report=lambda row: None)
    first_seconds = float(read_metadata(first)["train_seconds_total"])
    run = config(folders, tmp_path, "second", steps=4, init=first)
    train_sr(config(folders, tmp_path, "second", steps=4, init=first, stop_at=2), resume=False, report=lambda row: None)
    first.unlink()  # the start weights are gone (or replaced) by the time the run resumes
    train_sr(run, resume=True, report=lambda row: None)
    header = read_metadata(run.out)
    assert header["steps"] == "4"
    total = first_seconds + float(header["train_seconds"])
    assert float(header["train_seconds_total"]) == pytest.approx(total, abs=0.1)


def test_a_student_equal_to_an_equivariant_teacher_has_no_loss(folders, tmp_path):
    # A fresh compact net is nearest upsampling (its last convolution is zero): the same under every
    # flip and transpose, and consistent, so its projected self-ensemble is itself.
    teacher = train_sr(config(folders, tmp_path, "teacher", steps=1, lr=1e-12), resume=False, report=lambda r: None)
    rows = []
    student = config(folders, tmp_path, "student", steps=2, val_every=1, init=teacher, teacher=teacher, lr=1e-12)
    train_sr(student, resume=False, report=rows.append)
    assert rows[0] == {"teacher_targets": "3/3", "seconds": rows[0]["seconds"]}  # every 50 photos and the last
    assert all(float(row["loss"]) < 1e-6 for row in rows[1:])
    assert "--teacher" in read_metadata(student.out)["command"]
    rows.clear()
    train_sr(config(folders, tmp_path, "plain", steps=2, val_every=1, init=teacher, lr=1e-12), False, rows.append)
    assert all(float(row["loss"]) > 1e-2 for row in rows)  # against the HR patches


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), align=st.sampled_from([1, 2, 3, 4]))
def test_crops_start_on_the_alignment_grid(seed, align):
    # Each pixel holds its own coordinates, so a crop tells where it was cut (after undoing flips).
    rows, cols = torch.meshgrid(torch.arange(37.0), torch.arange(41.0), indexing="ij")
    image = torch.stack([rows, cols, rows])
    patches = sample_batch([image], torch.Generator().manual_seed(seed), batch=8, hr_patch=12, align=align)
    assert patches.shape == (8, 3, 12, 12)
    for patch in patches:
        top, left = int(patch[0].min()), int(patch[1].min())
        assert top % align == 0 and left % align == 0
        assert torch.equal(patch[0].max() - top, torch.tensor(11.0))  # the whole 12x12 block, flipped or not


@pytest.mark.parametrize("scale", [2, 3])
def test_teacher_targets_are_consistent_with_every_aligned_patch(folders, tmp_path, generator, scale):
    # A trained teacher (its last convolution no longer zero) sees whole images; a patch cut on the
    # scale grid, flipped or transposed, keeps a target whose box mean is the patch's own 8-bit LR.
    weights = train_sr(config(folders, tmp_path, "teacher", scale=scale, steps=3, lr=1e-2), False, lambda r: None)
    images = [random_channels(generator, 3, 29, 31).to(torch.uint8) for _ in range(2)]
    paired = with_targets(load_teacher(weights, scale), images, scale, report=lambda row: None)
    assert [tuple(p.shape) for p in paired] == [(6, 29 - 29 % scale, 31 - 31 % scale)] * 2
    assert torch.equal(paired[0][:3], images[0][:, : 29 - 29 % scale, : 31 - 31 % scale].float())
    patches = sample_batch(paired, generator, batch=16, hr_patch=4 * scale, align=scale)
    lr = box_lr(patches[:, :3], scale) / 255
    assert torch.allclose(AvgPool(scale).A(patches[:, 3:] / 255), lr, atol=1e-6)
    assert (patches[:, 3:] - patches[:, :3]).abs().mean() > 0.5  # the targets are the teacher's, not the HR


def test_a_teacher_of_another_scale_or_changed_since_is_refused(folders, tmp_path):
    teacher = train_sr(config(folders, tmp_path, "teacher", steps=1), resume=False, report=lambda r: None)
    with pytest.raises(TrainError, match="not a x4 SR network"):
        train_sr(config(folders, tmp_path, "x4", scale=4, teacher=teacher), resume=False, report=lambda r: None)
    train_sr(config(folders, tmp_path, "student", teacher=teacher, stop_at=2), resume=False, report=lambda r: None)
    train_sr(config(folders, tmp_path, "other", steps=1, seed=5, out=teacher), False, lambda r: None)  # new weights
    with pytest.raises(TrainError, match="other settings"):
        train_sr(config(folders, tmp_path, "student", teacher=teacher), resume=True, report=lambda r: None)
    with pytest.raises(TrainError, match="teacher weights not found"):
        config(folders, tmp_path, "student", teacher=tmp_path / "missing.safetensors")


def test_bicubic_lr_trains_resumes_exactly_and_is_recorded(folders, tmp_path):
    torch.set_num_threads(1)
    train_sr(config(folders, tmp_path, "straight", degradation="bicubic"), resume=False, report=lambda row: None)
    train_sr(config(folders, tmp_path, "split", degradation="bicubic", stop_at=3), False, lambda row: None)
    train_sr(config(folders, tmp_path, "split", degradation="bicubic"), resume=True, report=lambda row: None)
    straight = load_file(str(tmp_path / "straight" / "state.safetensors"))
    split = load_file(str(tmp_path / "split" / "state.safetensors"))
    assert all(torch.equal(straight[key], split[key]) for key in straight)
    header = read_metadata(tmp_path / "split.safetensors")
    assert header["degradation"] == "bicubic" and header["command"].endswith("--degradation bicubic")
    assert load_model(tmp_path / "split.safetensors")[0].trained_on == "bicubic"
    with pytest.raises(TrainError, match="other settings"):  # the box schedule is another run
        train_sr(config(folders, tmp_path, "split"), resume=True, report=lambda row: None)
    box = train_sr(config(folders, tmp_path, "box", steps=1), resume=False, report=lambda row: None)
    assert "degradation" not in read_metadata(box) and load_model(box)[0].trained_on == "box"


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([2, 3, 4]))
def test_pairs_are_cut_on_the_scale_grid_and_flipped_together(seed, scale):
    # With the box, the whole photo's LR cropped is the crop's own LR, flipped or transposed alike.
    generator = torch.Generator().manual_seed(seed)
    photo = torch.randint(0, 256, (3, 12 * scale, 11 * scale), generator=generator, dtype=torch.uint8)
    lr, hr = sample_pairs([photo], [box_rounded(photo, scale)], generator, batch=6, patch=5, scale=scale)
    assert lr.shape == (6, 3, 5, 5) and hr.shape == (6, 3, 5 * scale, 5 * scale)
    assert torch.equal(lr, torch.stack([box_rounded(patch, scale) for patch in hr]).float())


@pytest.mark.parametrize(("spec", "scale"), [("bicubic", 2), ("bicubic", 4), ("gaussian:1.6", 3)])
def test_inside_the_loss_band_the_patch_operator_is_the_photos(spec, scale):
    band, patch, top = loss_band(spec, scale), 10, 7
    photo = separable(spec, scale, 40 * scale, 40 * scale).rows[top : top + patch, scale * top : scale * (top + patch)]
    own = separable(spec, scale, patch * scale, patch * scale).rows
    assert torch.allclose(own[band : patch - band], photo[band : patch - band], atol=1e-12)
    assert not torch.allclose(own[band - 1], photo[band - 1], atol=1e-6)  # the row outside it reaches past


def test_the_lr_of_a_bicubic_run_is_pillows_own_resize(generator):
    photo = random_channels(generator, 3, 24, 32).to(torch.uint8)
    pillow = tensor_to_pil(photo).resize((16, 12), Image.Resampling.BICUBIC)
    assert torch.equal(degraded_lr(photo, 2, "bicubic"), pil_to_tensor(pillow))


def test_the_projected_output_has_the_patchs_degradation(generator):
    net = SRVGGNetCompact(num_feat=8, num_conv=2, scale=2)
    model = DegradedPD(net, "bicubic", 2)
    lr = torch.rand(2, 3, 9, 7, generator=generator)
    with torch.no_grad():
        out = model(lr)
    assert torch.allclose(separable("bicubic", 2, 18, 14).A(out.double()), lr.double(), atol=1e-5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--degradation", "motion:5,30"], "--degradation must be one of box, bicubic"),
        (["--degradation", "lanczos"], "--degradation must be one of box, bicubic"),
        (["--degradation", "gaussian:x"], "gaussian needs its width"),
        (["--degradation", "bicubic", "--teacher", "weights/compact-x2.safetensors"], "cannot be combined"),
    ],
)
def test_degradations_training_cannot_use_are_one_line(folders, tmp_path, cli, options, message):
    result = run_small(cli, folders, tmp_path, "bad", *options)
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "bad").exists()


def test_a_box_model_starts_a_bicubic_fine_tune(folders, tmp_path, cli):
    shipped = Path(__file__).resolve().parents[2] / "weights" / "compact-x4.safetensors"
    sizes = ["--num-feat", "64", "--num-conv", "8", "--patch", "6", "--batch", "1", "--lr", "1e-12"]
    train, val = folders
    result = cli("train", "sr", "--scale", "4", "--data", train, "--val", val, "--init", shipped, *sizes,
                 "--steps", "1", "--out", tmp_path / "ft.safetensors", "--run-dir", tmp_path / "ft",
                 "--degradation", "bicubic")  # fmt: skip
    assert result.exit_code == 0, result.output
    before, after = load_file(str(shipped)), load_file(str(tmp_path / "ft.safetensors"))
    assert all(torch.allclose(before[key], after[key], atol=1e-6) for key in before)
    header = read_metadata(tmp_path / "ft.safetensors")
    assert header["degradation"] == "bicubic" and f"--init {shipped}" in header["command"]
