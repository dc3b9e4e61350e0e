"""Every command explains itself, defaults included."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("command", "text"),
    [
        (["upscale"], "[default: the shipped one]"),
        (["colorize"], "--gray"),
        (["colorize"], "Exact at every value"),
        (["train", "colorize"], "colorunet"),
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


def test_upscale_help_says_what_each_scale_runs(cli):
    """The --scale help names the scales that ship, and each resampled one with what it is resampled from,
    as the planner does it (issue 39: it said ×3 ran the ×4 model, where compact-x3 ships)."""
    from srcli.checkpoints.plan import plan_upscale

    text = " ".join(cli("upscale", "--help").output.split())
    assert "x4 for 3" not in text
    larger = []
    for scale in range(2, 9):
        plan = plan_upscale(None, scale, "auto", None, 0.0, False).sr
        if plan.resampled:
            larger.append(f"×{plan.estimate_scale}")
            assert f"×{scale}" in text
        elif len(plan.stages) == 1:
            assert f"×{scale}" in text
        else:
            assert f"×{scale} as " + " then ".join(f"×{stage.scale}" for stage in plan.stages) in text
    assert f"({', '.join(larger)})" in text


def test_no_help_text_says_webp_is_always_lossless(cli):
    for command in ("upscale", "colorize", "deblur"):
        assert "webp unless --quality" in " ".join(cli(command, "--help").output.split())
