"""``srcli train colorize``: the class rebalancing, a few real steps, the calibration of the decoding, the
adversarial term."""

from __future__ import annotations

import csv
import math

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from srcli.archs.colornet import ColorNet, chroma_grid, chroma_of
from srcli.archs.colorunet import ColorUNet
from srcli.checkpoints.load import load_network
from srcli.errors import TrainError
from srcli.maths.operators import Gray, PDWrapper
from srcli.train.colorize import (
    ColorizeTask,
    ColorizeTrainConfig,
    decoded_colours,
    mean_gray,
    nearest_bins,
    photo_colours,
    rebalancing_weights,
    train_colorize,
)
from srcli.train.discriminator import UNetDiscriminatorSN
from tests.cli.test_colorize import colorize
from tests.images import random_channels, save_8bit, training_folders


def test_nearest_bins_and_rebalancing(generator):
    bins = chroma_grid()
    chroma = torch.rand(1, 2, 5, 5, generator=generator) * 0.6 - 0.3
    brute = ((chroma.permute(0, 2, 3, 1).unsqueeze(-2) - bins).square().sum(-1)).argmin(-1)
    assert torch.equal(nearest_bins(chroma, bins), brute)
    gray_image = torch.full((3, 16, 16), 100, dtype=torch.uint8)
    reddish = gray_image.clone()
    reddish[0, :4] = 200
    weights = rebalancing_weights([gray_image, gray_image, reddish], bins, 0.5)
    common = nearest_bins(torch.zeros(1, 2, 1, 1), bins).item()
    rare = nearest_bins(chroma_of(torch.tensor([[[[200.0]], [[100.0]], [[100.0]]]]) / 255), bins).item()
    assert weights[rare] > weights[common]


def test_a_few_training_steps_write_a_usable_model(tmp_path, generator, cli):
    train_images = [random_channels(generator, 3, 40, 48) for _ in range(3)]
    train, val = training_folders(tmp_path, train_images, random_channels(generator, 3, 20, 24))
    config = ColorizeTrainConfig(
        data=train, val=val, out=tmp_path / "c.safetensors", run_dir=tmp_path / "run",
        num_feat=8, num_conv=1, steps=4, batch=2, patch=16, val_every=2,
    )  # fmt: skip
    train_colorize(config, resume=False, report=lambda row: None)
    net, metadata = load_network(config.out)
    assert isinstance(net, ColorNet) and metadata["task"] == "colorize"
    assert "srcli train colorize" in metadata["command"] and float(metadata["val_colourfulness_ratio"]) >= 0
    colorize(cli, save_8bit(tmp_path / "in.png", random_channels(generator, 1, 12, 12)), tmp_path / "o.png", config.out)


def test_a_few_colorunet_steps_write_a_usable_model(tmp_path, generator, cli):
    train_images = [random_channels(generator, 3, 40, 48) for _ in range(3)]
    train, val = training_folders(tmp_path, train_images, random_channels(generator, 3, 20, 24))
    config = ColorizeTrainConfig(
        data=train, val=val, out=tmp_path / "u.safetensors", run_dir=tmp_path / "run", arch="colorunet",
        num_feat=4, num_conv=1, steps=2, batch=2, patch=32, val_every=2,
    )  # fmt: skip
    train_colorize(config, resume=False, report=lambda row: None)
    net, metadata = load_network(config.out)
    assert isinstance(net, ColorUNet) and "--arch colorunet" in metadata["command"]
    colorize(cli, save_8bit(tmp_path / "in.png", random_channels(generator, 1, 12, 12)), tmp_path / "o.png", config.out)


def test_a_colorunet_patch_must_reach_its_coarsest_level(tmp_path):
    with pytest.raises(TrainError, match="patch must be a multiple of 32"):
        ColorizeTrainConfig(data=tmp_path, out=tmp_path / "u.safetensors", run_dir=tmp_path, arch="colorunet", patch=48)


@pytest.mark.parametrize(("margin", "chosen"), [(0.0, "0.4,1.5"), (0.5, "0.7,1.0"), (0.9, "1.0,0.5"), (5.0, "1.0,0.5")])
def test_the_most_colourful_decoding_with_the_margin_is_chosen(margin, chosen):
    from srcli.train.colorize import choose_decoding

    table = {"gray": [20.0, 0.0], "0.4,1.5": [20.2, 40.0], "0.7,1.0": [20.5, 30.0], "1.0,0.5": [20.9, 10.0]}
    assert choose_decoding(table, margin) == tuple(float(v) for v in chosen.split(","))


@pytest.mark.parametrize(("originals", "chosen"), [(100.0, "0.4,1.5"), (40.0, "0.7,1.0"), (20.0, "1.0,0.5")])
def test_colour_past_the_ratio_is_not_bought_with_psnr(originals, chosen):
    from srcli.train.colorize import choose_decoding

    table = {"gray": [20.0, 0.0], "0.4,1.5": [20.2, 40.0], "0.7,1.0": [20.5, 30.0], "1.0,0.5": [20.9, 10.0]}
    table["originals"] = [originals]  # 0.85 of 40 is 34: 30 is the most colourful below; of 20, none is: the least
    assert choose_decoding(table, 0.0, max_ratio=0.85) == tuple(float(v) for v in chosen.split(","))


@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_calibration_picks_the_most_colourful_decoding_that_beats_gray(tmp_path, generator, margin):
    from srcli.train.colorize import CALIBRATION_MAX_RATIO, calibrate_decoding

    folder = tmp_path / "calibrate"
    folder.mkdir()
    for index in range(2):
        save_8bit(folder / f"c{index}.png", random_channels(generator, 3, 24, 32))
    save_8bit(folder / "gray.png", random_channels(generator, 1, 24, 32))  # left out: no colour
    torch.manual_seed(1)
    net = ColorNet(num_feat=8, num_conv=1)
    temperature, saturation, table = calibrate_decoding(net, sorted(folder.iterdir()), margin)
    chosen = table[f"{temperature},{saturation}"]
    grid = {key: value for key, value in table.items() if key not in ("gray", "originals")}
    passing = [value for value in grid.values() if value[0] >= table["gray"][0] + margin]
    below = [value for value in passing if value[1] <= CALIBRATION_MAX_RATIO * table["originals"][0]]
    if below:
        assert chosen[0] >= table["gray"][0] + margin and chosen[1] == max(value[1] for value in below)
    elif passing:
        assert chosen[1] == min(value[1] for value in passing)
    else:
        assert chosen[0] == max(value[0] for value in grid.values())
    assert float(net.temperature) == pytest.approx(0.4) and float(net.saturation) == 1.0  # left as it was


@pytest.fixture
def folders(tmp_path, generator):
    train_images = [random_channels(generator, 3, 40, 48) for _ in range(3)]
    return training_folders(tmp_path, train_images, random_channels(generator, 3, 24, 32))


def adversarial_config(folders, tmp_path, name: str, **overrides) -> ColorizeTrainConfig:
    train, val = folders
    settings = dict(
        data=train, val=val, out=tmp_path / f"{name}.safetensors", run_dir=tmp_path / name, num_feat=8, num_conv=1,
        d_feat=4, steps=4, batch=2, patch=16, val_every=2, seed=3, lr=1e-3, adv_weight=0.5,
    )  # fmt: skip
    return ColorizeTrainConfig(**(settings | overrides))


def log_rows(run_dir) -> list[dict[str, str]]:
    with (run_dir / "log.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("adv_weight", [0.0, 0.5])
def test_only_an_adversarial_weight_builds_a_discriminator_and_draws_for_it(folders, tmp_path, generator, adv_weight):
    task = ColorizeTask(adversarial_config(folders, tmp_path, "run", adv_weight=adv_weight))
    task.images = [random_channels(generator, 3, 16, 16).to(torch.uint8)]
    net = ColorNet(8, 1)
    before = torch.get_rng_state()
    task.wrap(net)
    critics = task.critics()
    if adv_weight:
        assert isinstance(critics["d"], UNetDiscriminatorSN) and not torch.equal(torch.get_rng_state(), before)
    else:
        assert critics == {} and task.discriminator is None and task.columns == ()
        assert torch.equal(torch.get_rng_state(), before)  # a seeded run draws what it drew before the option


def test_without_an_adversarial_weight_the_loss_is_the_classification_term_alone(folders, tmp_path, generator):
    images = [random_channels(generator, 3, 24, 24).to(torch.uint8) for _ in range(2)]
    tasks = [ColorizeTask(adversarial_config(folders, tmp_path, "run", adv_weight=w)) for w in (0.0, 0.5)]
    torch.manual_seed(0)
    net = ColorNet(8, 1)
    for task in tasks:
        task.images = images
        task.wrap(net)
    inputs, targets = tasks[0].draw_batch(torch.Generator().manual_seed(5))
    plain, adversarial = (task.loss(inputs, targets) for task in tasks)
    terms = tasks[1].loss_terms()
    assert plain.item() == terms["cls"] and math.isfinite(terms["adv"]) and terms["adv"] > 0
    assert adversarial.item() == pytest.approx(terms["cls"] + 0.5 * terms["adv"])
    assert tasks[0].loss_terms() == {}


def test_the_colours_the_discriminator_sees_keep_the_gray_and_carry_the_networks_gradient(folders, tmp_path, generator):
    torch.manual_seed(0)
    net = ColorNet(8, 1, temperature=0.7, saturation=1.3)
    gray = mean_gray(random_channels(generator, 3, 16, 24).unsqueeze(0).float())
    colours = decoded_colours(net, net.logits(gray), gray)
    torch.testing.assert_close(Gray("mean").A(colours), gray, atol=1e-6, rtol=0)
    assert (colours - gray).abs().max() > 1e-3  # coloured, not the gray copied
    torch.testing.assert_close(colours, PDWrapper(net, Gray("mean"))(gray))  # what validation shows
    (colours * torch.randn(colours.shape, generator=generator)).sum().backward()
    assert all(p.grad is not None for p in net.parameters()) and any(p.grad.abs().sum() > 0 for p in net.parameters())
    task = ColorizeTask(adversarial_config(folders, tmp_path, "run"))
    task.images = [random_channels(generator, 3, 24, 24).to(torch.uint8)]
    task.wrap(net)
    inputs, targets = task.draw_batch(torch.Generator().manual_seed(1))
    task.loss(inputs, targets)
    for pair in (task.real, task.fake):
        assert torch.equal(pair[:, :1], inputs)
        torch.testing.assert_close(Gray("mean").A(pair[:, 1:]), inputs, atol=1e-6, rtol=0)
    coarse = chroma_of(F.avg_pool2d(targets, 4))  # the photo's chroma at the network's resolution, upsampled alike
    upsampled = F.interpolate(coarse, scale_factor=4, mode="bilinear", align_corners=False)
    torch.testing.assert_close(chroma_of(task.real[:, 1:]), upsampled, atol=1e-6, rtol=0)
    torch.testing.assert_close(task.fake[:, 1:], decoded_colours(net, net.logits(inputs), inputs))


def test_at_quarter_resolution_the_discriminator_sees_the_pooled_gray_and_colours_and_passes_the_gradient(
    folders, tmp_path, generator
):
    torch.manual_seed(0)
    net = ColorNet(8, 1, temperature=0.7, saturation=1.3)
    task = ColorizeTask(adversarial_config(folders, tmp_path, "run", patch=32, d_resolution="quarter"))
    task.images = [random_channels(generator, 3, 40, 40).to(torch.uint8)]
    task.wrap(net)
    assert task.discriminator is not None
    seen: list[torch.Tensor] = []
    task.discriminator.register_forward_hook(lambda module, args, output: seen.append(args[0]))
    inputs, targets = task.draw_batch(torch.Generator().manual_seed(1))
    task.loss(inputs, targets)
    fake, real = seen  # the network's step: its colours, then the photo's
    assert fake.shape == real.shape == (2, 4, 8, 8)
    pooled_gray = F.avg_pool2d(inputs, 4)
    colours = decoded_colours(net, net.logits(inputs), inputs)
    torch.testing.assert_close(fake, torch.cat([pooled_gray, F.avg_pool2d(colours, 4)], 1))
    photo = photo_colours(chroma_of(F.avg_pool2d(targets, 4)), inputs)
    torch.testing.assert_close(real, torch.cat([pooled_gray, F.avg_pool2d(photo, 4)], 1))
    assert torch.equal(task.real, real) and torch.equal(task.fake, fake.detach())
    gradients = torch.autograd.grad(fake[:, 1:].square().sum(), list(net.parameters()))
    assert any(gradient.abs().sum() > 0 for gradient in gradients)


@pytest.mark.parametrize("d_resolution", ["full", "quarter"])
def test_a_few_adversarial_steps_log_their_terms_and_resume_with_the_discriminator(
    folders, tmp_path, cli, generator, d_resolution
):
    torch.set_num_threads(1)
    quiet = lambda row: None  # noqa: E731
    settings = {"d_resolution": d_resolution, "patch": 16 if d_resolution == "full" else 32}
    train_colorize(adversarial_config(folders, tmp_path, "straight", **settings), resume=False, report=quiet)
    train_colorize(adversarial_config(folders, tmp_path, "split", stop_at=2, **settings), resume=False, report=quiet)
    train_colorize(adversarial_config(folders, tmp_path, "split", **settings), resume=True, report=quiet)
    straight = load_file(str(tmp_path / "straight" / "state.safetensors"))
    split = load_file(str(tmp_path / "split" / "state.safetensors"))
    assert straight.keys() == split.keys() and any(key.startswith("critic.d.optim.") for key in straight)
    assert all(torch.equal(straight[key], split[key]) for key in straight)
    task = ColorizeTask(adversarial_config(folders, tmp_path, "split", **settings))
    task.images = [random_channels(generator, 3, 32, 32).to(torch.uint8)]
    torch.manual_seed(3)  # the run's seed: the discriminator it started with
    task.wrap(ColorNet(8, 1))
    assert task.discriminator is not None
    fresh = task.discriminator.state_dict()
    saved = {k[len("critic.d.model.") :]: v for k, v in split.items() if k.startswith("critic.d.model.")}
    assert saved.keys() == fresh.keys() and not torch.equal(saved["conv0.weight"], fresh["conv0.weight"])
    rows = log_rows(tmp_path / "split")
    assert [row["step"] for row in rows] == ["2", "4"]
    for row in rows:
        assert all(math.isfinite(float(row[k])) for k in ("loss", "loss_d", "cls", "adv", "val_colourfulness_ratio"))
    header = load_network(tmp_path / "split.safetensors")[1]
    assert "--d-feat 4" in header["command"] and "--adv-weight 0.5" in header["command"]
    assert ("--d-resolution quarter" in header["command"]) == (d_resolution == "quarter")
    other = "quarter" if d_resolution == "full" else "full"
    with pytest.raises(TrainError, match="written with other settings"):
        train_colorize(adversarial_config(folders, tmp_path, "split", d_resolution=other, patch=32),
                       resume=True, report=quiet)  # fmt: skip
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 1, 12, 12))
    colorize(cli, image, tmp_path / "o.png", tmp_path / "split.safetensors")


def test_an_adversarial_run_starts_from_plain_weights_or_warm_from_an_adversarial_state(folders, tmp_path):
    torch.set_num_threads(1)
    quiet = lambda row: None  # noqa: E731
    plain = adversarial_config(folders, tmp_path, "plain", adv_weight=0.0, steps=2)
    train_colorize(plain, resume=False, report=quiet)
    assert not any(key.startswith("critic.") for key in load_file(str(tmp_path / "plain" / "state.safetensors")))
    assert "cls" not in log_rows(tmp_path / "plain")[0]
    first = adversarial_config(folders, tmp_path, "first", init=plain.out, stop_at=1, lr=0.0)
    train_colorize(first, resume=False, report=quiet)  # one step at learning rate 0: the weights it started from
    weights, state = load_file(str(plain.out)), load_file(str(tmp_path / "first" / "state.safetensors"))
    assert all(torch.equal(weights[key], state[f"model.{key}"]) for key in weights)
    assert any(key.startswith("critic.d.model.") for key in state)
    again = adversarial_config(folders, tmp_path, "again", init=tmp_path / "first" / "state.safetensors", stop_at=1)
    train_colorize(again, resume=False, report=quiet)
    warm = load_file(str(tmp_path / "again" / "state.safetensors"))
    assert int(warm["critic.d.optim.0.step"]) == int(state["critic.d.optim.0.step"]) + 1  # its Adam went on
    with pytest.raises(TrainError, match="state of another kind of run"):  # no discriminator in it
        train_colorize(adversarial_config(folders, tmp_path, "bad", init=tmp_path / "plain" / "state.safetensors"),
                       resume=False, report=quiet)  # fmt: skip


def test_an_adversarial_patch_fits_the_discriminator(tmp_path):
    with pytest.raises(TrainError, match="patch must be a multiple of 8 with --adv-weight at --d-resolution full"):
        ColorizeTrainConfig(data=tmp_path, out=tmp_path / "c.safetensors", patch=20, adv_weight=0.1)
    with pytest.raises(TrainError, match=r"multiple of 32 with --adv-weight at --d-resolution quarter .*patch / 4"):
        ColorizeTrainConfig(data=tmp_path, out=tmp_path / "c.safetensors", patch=48, adv_weight=0.1,
                            d_resolution="quarter")  # fmt: skip
    ColorizeTrainConfig(data=tmp_path, out=tmp_path / "c.safetensors", patch=64, adv_weight=0.1, d_resolution="quarter")
    with pytest.raises(TrainError, match="adv_weight must be at least 0"):
        ColorizeTrainConfig(data=tmp_path, out=tmp_path / "c.safetensors", adv_weight=-0.1)
    assert "adv_weight" not in ColorizeTrainConfig(data=tmp_path, out=tmp_path / "c.safetensors").schedule_key()
    full = ColorizeTrainConfig(data=tmp_path, out=tmp_path / "c.safetensors", adv_weight=0.1)
    assert "d_resolution" not in full.schedule_key()  # an adversarial run from before the option resumes as it was
