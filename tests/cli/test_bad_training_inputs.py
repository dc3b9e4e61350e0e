"""What the option grid found (benchmarks/house/robustness.py): unreadable training inputs, a text file as weights, a
zero scale, a photo too small or too flat to score, an export folder that cannot be one — each is one line and
exit 2, never an internal error."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from tests.images import random_channels, save_8bit


@pytest.fixture
def folder(tmp_path, generator):
    save_8bit(tmp_path / "photo.png", random_channels(generator, 3, 64, 64))
    (tmp_path / "notes.txt").write_text("not weights")
    return tmp_path


def one_line_exit_2(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("srcli: error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command", [["sr", "--scale", "2"], ["gan", "--scale", "4"], ["colorize"], ["cs", "--ratio", "0.25"]]
)
def test_a_truncated_training_image_is_one_line(folder, cli, command):
    (folder / "cut.png").write_bytes((folder / "photo.png").read_bytes()[:80])
    result = cli("train", *command, "--data", folder, "--out", folder / "o.safetensors")
    assert "cut.png" in one_line_exit_2(result)


@pytest.mark.parametrize(
    "command",
    [
        ["sr", "--scale", "2", "--init"],
        ["colorize", "--init"],
        ["gan", "--scale", "4", "--naturalness"],
    ],
)
def test_a_text_file_given_as_weights_is_one_line(folder, cli, command):
    result = cli("train", *command, folder / "notes.txt", "--data", folder, "--out", folder / "o.safetensors")
    assert "notes.txt" in one_line_exit_2(result)


def test_a_zero_scale_for_the_naturalness_judge_is_one_line(folder, cli):
    result = cli("train", "naturalness", "--scale", "0", "--data", folder, "--out", folder / "o.safetensors")
    assert "scale" in one_line_exit_2(result)


def test_a_photo_too_small_to_score_is_one_line(folder, cli):
    Image.new("RGB", (16, 16)).save(folder / "tiny.png")
    assert "too small to score" in one_line_exit_2(cli("bench", "--data", folder, "--scale", "4"))


def test_a_flat_photo_benches_with_an_undefined_detail(tmp_path, cli):
    save_8bit(tmp_path / "flat.png", torch.full((3, 32, 32), 90, dtype=torch.int32))
    result = cli("bench", "--data", tmp_path, "--scale", "4", "--json")
    assert result.exit_code == 0, result.output
    assert '"detail": null' in result.stdout


@pytest.mark.parametrize("folder_name", ["notes.txt", "/proc/srcli-x"])
def test_an_export_folder_that_cannot_be_one_is_one_line(folder, cli, monkeypatch, folder_name):
    monkeypatch.chdir(folder)
    assert folder_name in one_line_exit_2(cli("models", "export", "compact-x2", folder_name))
