"""The command line starts without torch: help, the version and the model list import only what they show."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from srcli.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exit:
    assert not exit.code, exit.code
heavy = sorted(name for name in ("torch", "numpy", "PIL", "safetensors") if name in sys.modules)
print(",".join(heavy) or "none")
"""


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["upscale", "--help"], ["models", "list"]])
def test_these_commands_do_not_import_torch(argv):
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True)
    assert "torch" not in done.stdout.splitlines()[-1].split(",")


def test_the_help_text_states_the_engines_overlap_cap():
    from srcli.cli.sr import OVERLAP_CAP
    from srcli.tasks.sr import OVERLAP_CAP as ENGINE_CAP

    assert OVERLAP_CAP == ENGINE_CAP


def test_the_help_text_states_the_png_level_images_writes():
    from srcli.cli.common import PNG_LEVEL
    from srcli.io.images import PNG_LEVEL as WRITTEN

    assert PNG_LEVEL == WRITTEN
