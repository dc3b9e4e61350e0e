"""Training configurations: the command line and resume key derived from field metadata match what
the shipped weights and the kept training runs (their ``config.json``) recorded."""

from __future__ import annotations

import dataclasses
import json
import shlex
import typing
from pathlib import Path

import pytest

import srcli.train.colorize
import srcli.train.cs
import srcli.train.gan
import srcli.train.naturalness
import srcli.train.sr
import srcli.train.usrnet
from srcli.archs.compact import SKIPS
from srcli.checkpoints.load import read_metadata
from srcli.errors import TrainError
from srcli.maths.operators import CORRECTIONS
from srcli.train.config import Correction, Skip, TrainRun, weights_digest
from srcli.train.configs.colorize import NUM_CONV, ColorizeTrainConfig
from srcli.train.configs.sr import SRTrainConfig

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = json.loads((ROOT / "weights" / "manifest.json").read_text())["models"]
TRAINERS = {
    "sr": srcli.train.sr,
    "cs": srcli.train.cs,
    "colorize": srcli.train.colorize,
    "gan": srcli.train.gan,
    "naturalness": srcli.train.naturalness,
    "usrnet": srcli.train.usrnet,
}


@pytest.fixture
def parsed(cli, monkeypatch):
    """The configuration ``srcli train ...`` builds from a command line (run from the repository root,
    where recorded paths point), without training."""
    monkeypatch.chdir(ROOT)
    built: list[TrainRun] = []
    for module in TRAINERS.values():
        monkeypatch.setattr(module, "fit", lambda task, config, resume, report: built.append(config))

    def parse(command: str) -> TrainRun:
        words = shlex.split(command)
        assert words[:2] == ["srcli", "train"]
        result = cli(*words[1:])
        assert result.exit_code == 0, result.output
        return built.pop()

    return parse


@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["name"] for entry in MANIFEST])
def test_the_recorded_command_of_every_shipped_model_is_rebuilt_exactly(parsed, entry):
    recorded = entry["training"]["command"]
    assert parsed(recorded).command_line() == recorded
    assert read_metadata(ROOT / "weights" / entry["file"])["command"] == recorded


RUNS = sorted((ROOT / "training").glob("*/config.json"))
"""The configurations of the kept training runs (their states are not kept: training/README.md)."""


def built(recorded: dict, parsed) -> TrainRun:
    """The current configuration a run's ``config.json`` describes: its fields as they were written (the first
    runs wrote their command line beside them: that is parsed)."""
    if "command" in recorded:
        return parsed(recorded["command"])
    classes = [cls for cls in TrainRun.__subclasses__() if set(recorded) <= {f.name for f in dataclasses.fields(cls)}]
    assert len(classes) == 1, f"fields {sorted(recorded)} fit {classes}"
    fields = {f.name: f for f in dataclasses.fields(classes[0])}
    types = typing.get_type_hints(classes[0])
    values = {}
    for name, value in recorded.items():
        if not fields[name].init:
            continue
        if isinstance(value, str) and "Path" in str(types[name]):
            value = Path(value)
        values[name] = tuple(value) if isinstance(value, list) else value
    return classes[0](**values)


@pytest.mark.parametrize("path", RUNS, ids=[path.parent.name for path in RUNS])
def test_every_kept_run_config_still_builds_a_configuration_whose_command_parses_back(parsed, path):
    config = built(json.loads(path.read_text()), parsed)
    again = parsed(config.command_line())
    assert again.command_line() == config.command_line()
    assert again.schedule_key() == config.schedule_key()


def without_paths(config: TrainRun) -> dict[str, object]:
    """A run's schedule key without its ``--init`` path (the same weights are named from several folders)."""
    return {"command": config.command} | {k: v for k, v in config.schedule_key().items() if k != "init"}


def test_every_shipped_model_has_a_kept_training_run_with_its_schedule(parsed):
    kept = [without_paths(built(json.loads(path.read_text()), parsed)) for path in RUNS]
    missing = [entry["name"] for entry in MANIFEST if without_paths(parsed(entry["training"]["command"])) not in kept]
    assert not missing, f"no training/*/config.json records the schedule of {missing}"


def test_the_schedule_key_of_a_distilled_run_holds_the_teachers_digest(parsed):
    recorded = next(entry for entry in MANIFEST if entry["name"] == "compact-x2")["training"]["command"]
    key = parsed(recorded).schedule_key()
    assert key == {
        "scale": 2, "arch": "compact", "num_feat": 64, "num_conv": 12, "steps": 2200, "batch": 16, "patch": 48,
        "lr": 3e-05, "lr_min": 1e-05, "pd": True, "seed": 0, "init": "weights/compact-x2.safetensors",
        "teacher": weights_digest(ROOT / "training" / "distill-x2" / "teacher.safetensors"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "command",
    [
        "srcli train sr --scale 3 --data d --out o.safetensors --arch compact --num-feat 8 --num-conv 2 --steps 10 "
        "--batch 2 --patch 8 --lr 0.001 --no-pd --seed 4 --val-every 5 --ema 0.9 --loss l1-luma "
        "--rescale 0.8 --rescale 0.6 --degradation bicubic",
        "srcli train cs --ratio 0.1 --data d --val v --init i.safetensors --out o.safetensors --sensing-seed 3 "
        "--num-feat 8 --num-conv 2 --steps 10 --batch 2 --patch 64 --lr 0.001 --no-pd --seed 1 --val-every 5 "
        "--ema 0.5",
        "srcli train colorize --data d --val v --out o.safetensors --num-feat 8 --num-conv 2 --temperature 0.5 "
        "--sigma 0.05 --rebalance 0.2 --d-feat 16 --d-resolution quarter --steps 10 --batch 4 --patch 32 --lr 0.001 "
        "--seed 2 --val-every 5 --adv-weight 0.1",
    ],
    ids=["sr", "cs", "colorize"],
)
def test_a_command_line_with_every_option_round_trips(parsed, command):
    config = parsed(command)
    assert config.command_line() == command
    assert parsed(config.command_line()) == config


def test_a_run_from_before_an_option_keeps_its_schedule_key(parsed):
    # --loss, --rescale and --teacher at their defaults leave the key as runs from before them wrote it
    key = parsed("srcli train sr --scale 2 --data d --out o.safetensors").schedule_key()
    assert set(key) == {
        "scale",
        "arch",
        "num_feat",
        "num_conv",
        "steps",
        "batch",
        "patch",
        "lr",
        "lr_min",
        "pd",
        "seed",
    }
    changed = parsed("srcli train sr --scale 2 --data d --out o.safetensors --loss mse --rescale 0.5").schedule_key()
    assert changed == key | {"loss": "mse", "rescales": [0.5]}


def test_the_choices_an_option_offers_are_those_its_trainer_takes():
    assert typing.get_args(Correction) == CORRECTIONS
    assert typing.get_args(Skip) == SKIPS
    assert typing.get_args(typing.get_type_hints(SRTrainConfig)["loss"]) == tuple(srcli.train.sr.LOSSES)
    arch = typing.get_type_hints(ColorizeTrainConfig)["arch"]
    assert typing.get_args(arch) == tuple(srcli.train.colorize.NETWORKS) == tuple(NUM_CONV)


def test_a_choice_outside_its_values_is_refused(tmp_path):
    with pytest.raises(TrainError, match="loss must be one of l1, mse, l1-luma, got 'l2'"):
        SRTrainConfig(scale=2, data=tmp_path, out=tmp_path / "o.safetensors", loss="l2")


def test_options_left_unset_are_derived(tmp_path):
    config = ColorizeTrainConfig(data=tmp_path, out=tmp_path / "u.safetensors", arch="colorunet")
    assert config.run_dir == Path("runs") / "u" and config.num_conv == NUM_CONV["colorunet"]
