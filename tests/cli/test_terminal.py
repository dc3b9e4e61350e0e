"""Binary data never goes into a terminal (issue 39): ``-o -`` on a TTY is one line and exit 2."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from tests.images import random_channels, save_8bit


@pytest.mark.parametrize(
    "args",
    [
        ["upscale", "in.png", "--scale", "2", "-o", "-"],
        ["colorize", "in.png", "-o", "-"],
        ["degrade", "in.png", "--scale", "2", "-o", "-"],
        ["cs", "sample", "in.png", "--ratio", "0.1", "-o", "-"],
        ["check", "in.png", "in.png", "--scale", "1", "--heatmap", "-"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_writing_an_image_into_a_terminal_is_refused(tmp_path, generator, args):
    save_8bit(tmp_path / "in.png", random_channels(generator, 3, 8, 8))
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "srcli", *args],
            cwd=tmp_path,
            stdout=follower,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            timeout=120,
        )
        os.set_blocking(leader, False)
        try:
            written = os.read(leader, 1 << 16)
        except (BlockingIOError, OSError):
            written = b""
    finally:
        os.close(leader)
        os.close(follower)
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "terminal" in lines[0], lines
    assert written == b"" and sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]
