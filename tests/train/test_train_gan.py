"""``srcli train gan``: adversarial steps through PD, a resume that repeats the run, the exported generator."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from srcli.archs.compact import SRVGGNetCompact, deepen_compact
from srcli.checkpoints.load import load_network, read_metadata, trained_correction
from srcli.errors import TrainError
from srcli.maths.metrics import laplacian_energy
from srcli.maths.operators import AvgPool
from srcli.train.discriminator import UNetDiscriminatorSN
from srcli.train.gan import GANTask, GANTrainConfig, relativistic_losses, train_gan
from srcli.train.loop import BEST_WEIGHTS
from srcli.train.sr import SRTrainConfig, train_sr
from srcli.train.state import saved_training_seconds
from tests.images import random_channels, save_8bit, training_folders


@pytest.fixture
def folders(tmp_path, generator):
    train_images = [random_channels(generator, 3, 40, 44) for _ in range(3)]
    return training_folders(tmp_path, train_images, random_channels(generator, 3, 24, 24))


def config(folders, tmp_path, name: str, **overrides) -> GANTrainConfig:
    train, val = folders
    settings = dict(
        scale=2, data=train, val=val, out=tmp_path / f"{name}.safetensors", run_dir=tmp_path / name,
        num_feat=8, num_conv=2, d_feat=4, steps=6, batch=2, patch=8, val_every=2, seed=3, lr=1e-3,
    )  # fmt: skip
    return GANTrainConfig(**(settings | overrides))


def log_rows(run_dir) -> list[dict[str, str]]:
    with (run_dir / "log.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_a_few_adversarial_steps_from_sr_weights_export_a_generator_upscale_runs_exactly(
    folders, tmp_path, generator, cli
):
    torch.set_num_threads(1)
    train, val = folders
    start = SRTrainConfig(
        scale=2, data=train, out=tmp_path / "sr.safetensors", run_dir=tmp_path / "sr", num_feat=8, num_conv=2,
        steps=1, batch=2, patch=8,
    )  # fmt: skip
    train_sr(start, resume=False, report=lambda row: None)
    sizes = ["--num-feat", "8", "--num-conv", "2", "--d-feat", "4", "--batch", "2", "--patch", "8"]
    out, run_dir = tmp_path / "gan.safetensors", tmp_path / "gan"
    result = cli(
        "train", "gan", "--scale", "2", "--data", train, "--val", val, "--init", start.out, "--out", out,
        "--run-dir", run_dir, *sizes, "--steps", "4", "--val-every", "2", "--ema", "0.5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = log_rows(run_dir)
    assert [row["step"] for row in rows] == ["2", "4"]
    for row in rows:
        assert all(math.isfinite(float(row[key])) for key in ("loss", "loss_d", "l1", "adv", "fm", "val_detail"))
        assert float(row["val_psnr_y"]) > 0 and float(row["val_detail"]) > 0
    assert (run_dir / "convergence.png").stat().st_size > 0
    assert not (run_dir / BEST_WEIGHTS).exists()  # a GAN keeps its last export, not its best PSNR
    net, header = load_network(out)
    assert isinstance(net, SRVGGNetCompact) and net.scale == 2
    assert header["task"] == "sr" and header["pd"] == "true" and header["steps"] == "4"
    assert header["command"].startswith("srcli train gan --scale 2") and "--ema 0.5" in header["command"]
    assert header["data"] == "train" and float(header["train_seconds_total"]) >= float(header["train_seconds"])
    assert header["val_detail"] == rows[-1]["val_detail"]
    state = load_file(str(run_dir / "state.safetensors"))
    assert any(key.startswith("critic.d.model.") for key in state) and any(
        k.startswith("critic.d.optim.") for k in state
    )
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 13, 11))
    upscaled = cli("upscale", image, "--model", out, "-o", tmp_path / "up.png", "--json", "-q")
    assert upscaled.exit_code == 0, upscaled.output
    assert json.loads(upscaled.stdout)["consistency_exact"] is True


def test_resume_repeats_the_uninterrupted_adversarial_run(folders, tmp_path):
    torch.set_num_threads(1)
    quiet = lambda row: None  # noqa: E731
    train_gan(config(folders, tmp_path, "straight", ema=0.5), resume=False, report=quiet)
    train_gan(config(folders, tmp_path, "split", ema=0.5, stop_at=3), resume=False, report=quiet)
    assert read_metadata(tmp_path / "split.safetensors")["steps"] == "3"
    train_gan(config(folders, tmp_path, "split", ema=0.5), resume=True, report=quiet)
    straight = load_file(str(tmp_path / "straight" / "state.safetensors"))
    split = load_file(str(tmp_path / "split" / "state.safetensors"))
    assert straight.keys() == split.keys() and any(key.startswith("critic.d.") for key in straight)
    assert all(torch.equal(straight[key], split[key]) for key in straight)
    final = [log_rows(tmp_path / name)[-1] for name in ("straight", "split")]
    assert {key: final[0][key] for key in ("loss_d", "val_psnr_y", "val_detail")} == {
        key: final[1][key] for key in ("loss_d", "val_psnr_y", "val_detail")
    }
    assert float(final[0]["loss_d"]) != float(log_rows(tmp_path / "straight")[0]["loss_d"])  # it trained


def test_a_warm_restart_from_a_finished_state_keeps_the_discriminator_and_starts_a_new_schedule(folders, tmp_path):
    torch.set_num_threads(1)
    quiet = lambda row: None  # noqa: E731
    train_gan(config(folders, tmp_path, "first", steps=2, ema=0.5), resume=False, report=quiet)
    first = tmp_path / "first" / "state.safetensors"
    again = config(folders, tmp_path, "again", steps=2, ema=0.5, init=first, stop_at=1, lr=0.0)
    train_gan(again, resume=False, report=quiet)
    before, after = load_file(str(first)), load_file(str(tmp_path / "again" / "state.safetensors"))
    for prefix in ("model.", "critic.d.model."):  # one step at learning rate 0: the weights it started from
        keys = [key for key in before if key.startswith(prefix) and not key.endswith(("._u", "._v"))]
        assert keys and all(torch.equal(before[k], after[k]) for k in keys)  # (spectral norm's _u, _v iterate)
    assert int(after["optim.0.step"]) == int(before["optim.0.step"]) + 1  # Adam's moments went on
    header = read_metadata(tmp_path / "again.safetensors")
    total = saved_training_seconds(first) + float(header["train_seconds"])  # the first run's time counts
    assert header["steps"] == "1" and float(header["train_seconds_total"]) == pytest.approx(total, abs=0.06)
    sr = SRTrainConfig(scale=2, data=folders[0], out=tmp_path / "sr.safetensors", run_dir=tmp_path / "sr",
                       num_feat=8, num_conv=2, steps=1, batch=2, patch=8)  # fmt: skip
    train_sr(sr, resume=False, report=quiet)
    with pytest.raises(TrainError, match="state of another kind of run"):  # no discriminator in it
        train_gan(config(folders, tmp_path, "bad", init=tmp_path / "sr" / "state.safetensors"), False, quiet)


def test_a_warm_restart_deepens_a_shallower_generator_and_keeps_its_discriminator(folders, tmp_path):
    torch.set_num_threads(1)
    quiet = lambda row: None  # noqa: E731
    train_gan(config(folders, tmp_path, "first", steps=2, ema=0.5), resume=False, report=quiet)
    first = tmp_path / "first" / "state.safetensors"
    deeper = config(folders, tmp_path, "deeper", num_conv=4, steps=2, ema=0.5, init=first, stop_at=1, lr=0.0)
    train_gan(deeper, resume=False, report=quiet)
    before, after = load_file(str(first)), load_file(str(tmp_path / "deeper" / "state.safetensors"))
    shallow = {key[len("model.") :]: value for key, value in before.items() if key.startswith("model.")}
    grown = deepen_compact(shallow, 4)
    assert len(grown) > len(shallow)  # one step at learning rate 0: the deepened weights it started from
    assert all(torch.equal(after[f"model.{key}"], value) for key, value in grown.items())
    keys = [k for k in before if k.startswith("critic.d.model.") and not k.endswith(("._u", "._v"))]
    assert keys and all(torch.equal(before[k], after[k]) for k in keys)
    assert int(after["critic.d.optim.0.step"]) == int(before["critic.d.optim.0.step"]) + 1  # its Adam went on
    assert int(after["optim.0.step"]) == 1  # the generator's Adam started afresh: its moments were another net's
    x = torch.rand(1, 3, 6, 6)
    nets = [SRVGGNetCompact(3, 8, n, 2).eval() for n in (2, 4)]
    nets[0].load_state_dict(shallow), nets[1].load_state_dict(grown)
    with torch.no_grad():
        torch.testing.assert_close(nets[1](x), nets[0](x), atol=1e-6, rtol=0)  # the same function to start
    with pytest.raises(TrainError, match="state of another kind of run"):  # a deeper state into a shallower net
        train_gan(config(folders, tmp_path, "shallower", init=tmp_path / "deeper" / "state.safetensors"), False, quiet)


def test_the_discriminator_is_what_the_resume_restores(folders, tmp_path):
    torch.set_num_threads(1)
    train_gan(config(folders, tmp_path, "run", stop_at=2), resume=False, report=lambda row: None)
    state = load_file(str(tmp_path / "run" / "state.safetensors"))
    task = GANTask(config(folders, tmp_path, "run"))
    task.wrap(SRVGGNetCompact(3, 8, 2, 2))
    fresh = task.discriminator.state_dict()
    saved = {key[len("critic.d.model.") :]: value for key, value in state.items() if key.startswith("critic.d.model.")}
    assert saved.keys() == fresh.keys()
    assert any(not torch.equal(saved[key], fresh[key]) for key in saved)  # trained, not rebuilt


def test_the_loss_weights_are_recorded_and_part_of_the_schedule(folders, tmp_path):
    train_gan(config(folders, tmp_path, "run", steps=2), resume=False, report=lambda row: None)
    command = read_metadata(tmp_path / "run.safetensors")["command"]
    assert "--l1-weight 1.0 --adv-weight 0.02 --fm-weight 1.0" in command and "--d-feat 4" in command
    with pytest.raises(TrainError, match="other settings"):
        train_gan(config(folders, tmp_path, "run", steps=2, adv_weight=0.1), resume=True, report=lambda r: None)


def test_the_smooth_correction_is_what_training_projects_through_and_what_the_weights_say(folders, tmp_path):
    torch.set_num_threads(1)
    task = GANTask(config(folders, tmp_path, "run", correction="smooth"))
    task.prepare([random_channels(torch.Generator().manual_seed(0), 3, 40, 44).to(torch.uint8)], [], print)
    task.wrap(SRVGGNetCompact(3, 8, 2, 2))
    lr, real = task.draw_batch(torch.Generator().manual_seed(1))
    task.loss(lr, real)
    smooth, nearest = AvgPool(2, "smooth"), AvgPool(2)
    assert torch.allclose(smooth.A(task.fake), lr, atol=1e-6)
    estimate = task.model.net(lr)
    assert torch.allclose(task.fake, smooth.project(estimate, lr), atol=1e-6)
    assert not torch.allclose(task.fake, nearest.project(estimate, lr), atol=1e-3)
    train_gan(config(folders, tmp_path, "run", steps=2, correction="smooth"), resume=False, report=lambda r: None)
    header = read_metadata(tmp_path / "run.safetensors")
    assert trained_correction(header) == "smooth" and "--correction smooth" in header["command"]
    with pytest.raises(TrainError, match="other settings"):
        train_gan(config(folders, tmp_path, "run", steps=2), resume=True, report=lambda r: None)
    with pytest.raises(TrainError, match=r"^correction must be one of nearest, smooth"):
        config(folders, tmp_path, "bad", correction="cubic")


def test_a_patch_the_discriminator_cannot_halve_three_times_is_refused(folders, tmp_path):
    with pytest.raises(TrainError, match="multiple of 8"):
        config(folders, tmp_path, "run", patch=6)


def test_the_real_patch_is_consistent_with_its_lr_and_the_generator_step_spares_the_discriminator(folders, tmp_path):
    task = GANTask(config(folders, tmp_path, "run"))
    images = [random_channels(torch.Generator().manual_seed(0), 3, 40, 44).to(torch.uint8)]
    task.prepare(images, [], report=lambda row: None)
    torch.manual_seed(0)
    task.wrap(SRVGGNetCompact(3, 8, 2, 2))
    lr, real = task.draw_batch(torch.Generator().manual_seed(1))
    assert torch.allclose(AvgPool(2).A(real), lr, atol=1e-6)
    task.loss(lr, real).backward()
    assert all(p.grad is None for p in task.discriminator.parameters())
    assert all(p.requires_grad for p in task.discriminator.parameters())
    assert torch.allclose(AvgPool(2).A(task.fake), lr, atol=1e-6)  # what the discriminator is shown is projected
    task.critic_loss("d").backward()
    assert all(p.grad is not None for p in task.discriminator.parameters())


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), shift=st.floats(-3, 3))
def test_relativistic_losses(seed, shift):
    logits = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(seed))
    generator_loss = relativistic_losses(logits, logits + shift)[1]
    uniform = torch.full_like(logits, shift)  # a discriminator that cannot tell: both losses are log 2
    assert all(value.item() == pytest.approx(math.log(2)) for value in relativistic_losses(uniform, uniform))
    # the generator's loss is the discriminator's with real and fake exchanged
    swapped = relativistic_losses(logits + shift, logits)[0]
    assert generator_loss.item() == pytest.approx(swapped.item(), rel=1e-5)
    # a discriminator that rates real higher than fake has the lower loss
    assert relativistic_losses(logits + 1, logits)[0] < relativistic_losses(logits, logits + 1)[0]


def test_the_discriminator_scores_every_pixel_and_its_size():
    net = UNetDiscriminatorSN(3, 32)
    assert sum(p.numel() for p in net.parameters()) == 1_094_817  # the default --d-feat 32; upstream's 64: 4.4 M
    logits, features = UNetDiscriminatorSN(3, 4).features(torch.rand(2, 3, 16, 24))
    assert logits.shape == (2, 1, 16, 24) and len(features) == 9


def test_laplacian_energy():
    flat = torch.full((1, 3, 8, 8), 0.5)
    checkers = (torch.arange(8).view(8, 1) + torch.arange(8)).remainder(2).float().expand(1, 3, 8, 8)
    assert laplacian_energy(flat, border=1) == 0.0
    assert laplacian_energy(checkers, border=1) ** 0.5 == pytest.approx(4 * 219)


def test_the_help_shows_the_loss_weights_and_their_defaults(cli):
    result = cli("train", "gan", "--help")
    text = " ".join(result.output.split())
    assert result.exit_code == 0
    assert "--adv-weight <float>" in text and "[default: 0.02]" in text and "--fm-weight" in text


def test_ldl_trains_on_the_weight_average_resumes_and_exports(folders, tmp_path):
    """With --ldl the artefact loss is logged and trains the generator; the resume repeats the run (the weight
    average the loss reads is checkpointed); the weights and their command record it; the decay is then part of
    the schedule, and --ldl without --ema is refused."""
    torch.set_num_threads(1)
    quiet = lambda row: None  # noqa: E731
    train_gan(config(folders, tmp_path, "straight", ema=0.5, ldl=1.0), resume=False, report=quiet)
    train_gan(config(folders, tmp_path, "split", ema=0.5, ldl=1.0, stop_at=3), resume=False, report=quiet)
    train_gan(config(folders, tmp_path, "split", ema=0.5, ldl=1.0), resume=True, report=quiet)
    straight = load_file(str(tmp_path / "straight" / "state.safetensors"))
    split = load_file(str(tmp_path / "split" / "state.safetensors"))
    assert all(torch.equal(straight[key], split[key]) for key in straight)
    rows = log_rows(tmp_path / "straight")
    assert all(math.isfinite(float(row["ldl"])) for row in rows) and any(float(row["ldl"]) > 0 for row in rows)
    train_gan(config(folders, tmp_path, "plain", ema=0.5), resume=False, report=quiet)
    plain = load_file(str(tmp_path / "plain" / "state.safetensors"))
    assert not torch.equal(plain["model.body.0.weight"], straight["model.body.0.weight"])  # the loss moved it
    header = read_metadata(tmp_path / "straight.safetensors")
    assert "--ldl 1.0" in header["command"] and header["steps"] == "6"
    with pytest.raises(TrainError, match="other settings"):  # another decay: another reference for the map
        train_gan(config(folders, tmp_path, "straight", ema=0.9, ldl=1.0), resume=True, report=quiet)
    with pytest.raises(TrainError, match="--ldl needs --ema"):
        config(folders, tmp_path, "bad", ldl=1.0)
    with pytest.raises(TrainError, match=r"^ldl must be at least 0"):
        config(folders, tmp_path, "bad", ldl=-1.0, ema=0.5)


def test_the_average_output_is_the_model_with_the_average_swapped_in(folders, tmp_path):
    from srcli.train.ema import WeightAverage

    task = GANTask(config(folders, tmp_path, "run", ema=0.5, ldl=1.0))
    task.prepare([random_channels(torch.Generator().manual_seed(0), 3, 40, 44).to(torch.uint8)], [], print)
    torch.manual_seed(0)
    net = SRVGGNetCompact(3, 8, 2, 2)
    model = task.wrap(net)
    task.average = WeightAverage(net, 0.5)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.add_(0.05)  # the training weights move away from the average
    lr, _ = task.draw_batch(torch.Generator().manual_seed(1))
    with task.average.swapped_in(net), torch.no_grad():
        expected = model(lr)
    output = task.average_output(lr)
    assert torch.allclose(output, expected, atol=1e-6) and not output.requires_grad
    assert not torch.allclose(output, model(lr), atol=1e-3)


def test_the_texture_gate_keeps_the_discriminator_from_teaching_flat_areas(folders, tmp_path):
    """On a flat photo the gate closes: without the L1, nothing reaches the generator's weights; ungated, the
    adversarial and feature-matching terms do. A negative level is refused."""

    def generator_gradient(gate: float) -> float:
        task = GANTask(config(folders, tmp_path, f"gate-{gate}", l1_weight=0.0, texture_gate=gate))
        torch.manual_seed(0)
        net = SRVGGNetCompact(3, 8, 2, 2)
        task.wrap(net)
        lr = torch.full((2, 3, 8, 8), 0.5) + 0.01 * torch.randn(2, 3, 8, 8)
        flat = torch.full((2, 3, 16, 16), 0.5)
        task.loss(lr, flat).backward()
        return max(float(parameter.grad.abs().max()) for parameter in net.parameters())

    ungated, gated = generator_gradient(0.0), generator_gradient(3.0)
    assert ungated > 1e-4 and gated <= 1e-9 * ungated
    with pytest.raises(TrainError, match=r"^texture_gate must be at least 0"):
        config(folders, tmp_path, "bad", texture_gate=-1.0)
