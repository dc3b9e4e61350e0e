"""Every command explains itself, defaults included."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("command", "text"),
    [
        (["upscale"], "[default: the shipped one]"),
        (["colorize"], "--gray"),
        (["cs", "reconstruct"], "[default: the shipped one for the ratio]"),
        (["cs", "sample"], "--ratio"),
        (["train", "cs"], "--sensing-seed"),
        (["train", "colorize"], "--temperature"),
    ],
)
def test_help_texts_show_their_defaults(cli, command, text):
    result = cli(*command, "--help")
    assert result.exit_code == 0
    assert text in " ".join(result.output.split())
