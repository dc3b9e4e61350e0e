"""What srcli prints on stderr."""

from __future__ import annotations

from srcli.cli import report


def test_a_long_note_stays_one_line_when_stderr_is_not_a_terminal(capsys):
    report.note("step=1, " + "x" * 200)
    assert capsys.readouterr().err == "step=1, " + "x" * 200 + "\n"


def test_a_long_path_keeps_its_end():
    path = "examples/a/very/long/folder/starfish_x4.png"
    assert report.shorten_path(path, 80) == path
    assert report.shorten_path(path, 24) == "…/folder/starfish_x4.png"
    assert report.shorten_path(path, 5) == "…/starfish_x4.png"  # the file name always stays whole


def test_results_table_at_80_columns_shows_the_ends_of_paths(cli, tmp_path, generator, monkeypatch):
    from srcli.archs.compact import SRVGGNetCompact
    from srcli.checkpoints.load import save_checkpoint
    from tests.images import random_channels, save_8bit

    monkeypatch.setenv("COLUMNS", "80")
    folder = tmp_path / "a-rather-long-folder-name" / "and-another-one-below-it"
    folder.mkdir(parents=True)
    source = save_8bit(folder / "starfish.png", random_channels(generator, 3, 6, 6))
    save_checkpoint(tmp_path / "m.safetensors", SRVGGNetCompact(3, 8, 2, 2), {"task": "sr"})
    result = cli("upscale", source, "--model", tmp_path / "m.safetensors")
    assert result.exit_code == 0, result.output
    assert "…/starfish.png" in result.stderr and "/starfish_x2.png" in result.stderr
    assert max(len(line) for line in result.stderr.splitlines()) <= 80
