"""Each ``srcli train`` option is declared once, as a field of its command's configuration: the Typer
command's options are exactly those fields, with their flags, defaults and help texts."""

from __future__ import annotations

import dataclasses
from enum import Enum

import pytest
import typer

from srcli.cli import app
from srcli.train.configs.colorize import ColorizeTrainConfig
from srcli.train.configs.cs import CSTrainConfig
from srcli.train.configs.gan import GANTrainConfig
from srcli.train.configs.naturalness import NaturalnessTrainConfig
from srcli.train.configs.sr import SRTrainConfig
from srcli.train.configs.usrnet import USRNetTrainConfig

CONFIGS = {
    config.command: config
    for config in (SRTrainConfig, CSTrainConfig, ColorizeTrainConfig, GANTrainConfig, NaturalnessTrainConfig,
                   USRNetTrainConfig)
}  # fmt: skip
COMMAND_LINE_ONLY = ["threads", "resume"]
"""The options of every training command that set no configuration field."""
FIXED = {"lr_min", "block"}
"""Fields a run sets but no option does: the schedule's floor and the CS block (the sensing files' format)."""
TRAIN = typer.main.get_command(app).commands["train"]


def _plain(default: object) -> object:
    return default.value if isinstance(default, Enum) else default


def test_every_training_command_has_a_configuration():
    assert set(TRAIN.commands) == set(CONFIGS)


@pytest.mark.parametrize("command", CONFIGS)
def test_the_options_are_the_configurations_fields_in_command_line_order(command):
    config = CONFIGS[command]
    names = [param.name for param in TRAIN.commands[command].params]
    assert names == [spec.name for spec in config.options()] + COMMAND_LINE_ONLY


@pytest.mark.parametrize("command", CONFIGS)
def test_every_field_a_run_takes_is_an_option_or_fixed(command):
    taken = {spec.name for spec in dataclasses.fields(CONFIGS[command]) if spec.init}
    assert taken - {spec.name for spec in CONFIGS[command].options()} <= FIXED


@pytest.mark.parametrize("command", CONFIGS)
def test_each_option_has_its_fields_flag_default_and_help(command):
    params = {param.name: param for param in TRAIN.commands[command].params}
    for spec in CONFIGS[command].options():
        param = params[spec.name]
        assert spec.metadata["flag"] in param.opts
        assert param.help and param.help == spec.metadata["help"]
        if spec.default is dataclasses.MISSING:
            assert param.required
        else:
            assert not param.required and _plain(param.default) == spec.default, spec.name
