"""Every ``srcli`` command line the README shows runs as written and exits 0.

The README's placeholders (``photo.png``, ``photos/``, ``lr.png``, …) are made as small images, and
each ``sh`` block runs in order, with the shipped models, in a fresh copy of them. Training and the
benchmark keep every flag the README gives; only the data and the run length are swapped for tiny ones
(appended flags: the last occurrence of an option wins).
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from tests.images import random_channels, save_8bit

ROOT = Path(__file__).resolve().parents[2]
SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
SHARED_DATA = re.compile(r"\.\./shared/data/\S+")
TINY_RUNS = {
    ("train", "sr"): [
        "--steps",
        "2",
        "--batch",
        "2",
        "--patch",
        "16",
        "--val-every",
        "1",
        "--out",
        "runs/x.safetensors",
    ],
}


def readme_blocks() -> list[list[list[str]]]:
    """The ``srcli`` lines of each ``sh`` block, continuations joined, comments dropped, split like a shell."""
    blocks = []
    for body in SH_BLOCK.findall((ROOT / "README.md").read_text()):
        lines = [shlex.split(line, comments=True) for line in body.replace("\\\n", " ").splitlines()]
        commands = [words[1:] for words in lines if words and words[0] == "srcli"]
        if commands:
            blocks.append(commands)
    return blocks


def smooth_image(generator: torch.Generator, channels: int, height: int, width: int) -> torch.Tensor:
    noise = random_channels(generator, channels, height // 8, width // 8).to(torch.uint8)
    return torch.nn.functional.interpolate(noise[None].float(), size=(height, width), mode="bilinear")[0].round()


@pytest.fixture(scope="module")
def placeholders(tmp_path_factory) -> Path:
    """A folder holding every input the README names, as small photos-like images."""
    root = tmp_path_factory.mktemp("readme")
    generator = torch.Generator().manual_seed(7)
    for name in ("photo.png", "old.png", "blurry.png", "photos/a.png", "photos/inner/b.png"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        save_8bit(root / name, smooth_image(generator, 3, 48, 64).int())
    for name in ("old_photo.png", "scans/one.png"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        save_8bit(root / name, smooth_image(generator, 1, 48, 64).int())
    with Image.open(root / "photo.png") as photo:
        for name in ("photo.jpg", "snap.jpg"):
            photo.save(root / name, quality=60)
        photo.resize((256, 192), Image.BICUBIC).save(root / "x4plus_out.png")
        photo.reduce(4).save(root / "lr.png")
        photo.reduce(4).resize((64, 48), Image.NEAREST).save(root / "sr.png")
    (root / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "starfish.png", root / "examples" / "starfish.png")
    tiny = root / "tiny"
    tiny.mkdir()
    for index in range(2):
        save_8bit(tiny / f"{index}.png", smooth_image(generator, 3, 64, 64).int())
    return root


def runnable(words: list[str], tiny: Path) -> list[str]:
    """The README's words with shared data swapped for ``tiny`` and a short run appended where needed."""
    words = [SHARED_DATA.sub(str(tiny), word) for word in words]
    return words + TINY_RUNS.get(tuple(words[:2]), [])


@pytest.mark.parametrize("block", readme_blocks(), ids=lambda block: " | ".join(" ".join(c[:2]) for c in block))
def test_every_readme_command_runs(block, placeholders, cli, monkeypatch, tmp_path):
    shutil.copytree(placeholders, tmp_path / "cwd")
    monkeypatch.chdir(tmp_path / "cwd")
    for words in block:  # what the block writes itself is not a placeholder
        if "-o" in words:
            Path(words[words.index("-o") + 1]).unlink(missing_ok=True)
    for words in block:
        result = cli(*runnable(words, tmp_path / "cwd" / "tiny"))
        assert result.exit_code == 0, f"srcli {' '.join(words)}\n{result.output}"


def test_the_readme_shows_a_command_of_every_documented_section():
    commands = {words[0] for block in readme_blocks() for words in block}
    assert {
        "upscale",
        "deblur",
        "project",
        "degrade",
        "check",
        "colorize",
        "cs",
        "models",
        "bench",
        "train",
    } <= commands
