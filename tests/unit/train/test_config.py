"""Training configurations: the command line and resume key derived from field metadata match what
the shipped weights and the kept run states recorded."""

from __future__ import annotations

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
from srcli.train.state import saved_schedule

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


RESUME_COMMANDS = {  # the resume commands of training/README.md, for the run states kept there
    "wide-x4": "srcli train sr --scale 4 --data ../shared/data/train/CBSD432 --val ../shared/data/bench/Set5 "
    "--out runs/wide-x4.safetensors --run-dir training/wide-x4 --num-feat 64 --num-conv 8 --patch 48 "
    "--steps 30000 --lr 1e-3 --val-every 250 --ema 0.999 --threads 2 --resume",
    "wide-x8": "srcli train sr --scale 8 --data ../shared/data/train/CBSD432 --val ../shared/data/bench/Set5 "
    "--init weights/compact-x4.safetensors --out runs/wide-x8.safetensors --run-dir training/wide-x8 "
    "--num-feat 64 --num-conv 8 --patch 40 --steps 15000 --lr 6e-4 --ema 0.999 --val-every 250 --threads 2 --resume",
    "wide-x2": "srcli train sr --scale 2 --data ../shared/data/train/CBSD432 --val ../shared/data/bench/Set5 "
    "--out runs/wide-x2.safetensors --run-dir training/wide-x2 --num-feat 64 --num-conv 8 --patch 48 "
    "--steps 30000 --lr 1e-3 --val-every 250 --ema 0.999 --threads 2 --resume",
    "ft-x2": "srcli train sr --scale 2 --data ../shared/data/train/CBSD432 --val ../shared/data/bench/Set5 "
    "--init weights/compact-x2.safetensors --out runs/ft-x2.safetensors --run-dir training/ft-x2 --num-feat 64 "
    "--num-conv 8 --patch 64 --steps 8000 --lr 3e-4 --val-every 250 --ema 0.999 --threads 2 --resume",
    "deep-x2": "srcli train sr --scale 2 --data ../shared/data/train/CBSD432 --val ../shared/data/bench/Set5 "
    "--init weights/compact-x2.safetensors --out runs/deep-x2.safetensors --run-dir training/deep-x2 "
    "--num-feat 64 --num-conv 12 --patch 48 --steps 6000 --lr 4e-4 --val-every 250 --ema 0.999 --threads 2 --resume",
}


@pytest.mark.parametrize("run", RESUME_COMMANDS)
def test_kept_run_states_still_match_their_resume_commands(parsed, run):
    config = parsed(RESUME_COMMANDS[run])
    assert config.run_dir == Path("training") / run
    saved = saved_schedule(ROOT / "training" / run / "state.safetensors")
    assert json.loads(json.dumps(config.schedule_key())) == saved


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
        "--sigma 0.05 --rebalance 0.2 --steps 10 --batch 4 --patch 16 --lr 0.001 --seed 2 --val-every 5",
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
