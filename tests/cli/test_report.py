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


def test_progress_has_an_eta_and_says_when_a_file_is_being_written(monkeypatch):
    """After the last tile the bar says "writing" (the finish and the write take a while on a large file)."""
    import io
    from types import SimpleNamespace

    from rich.console import Console

    screen = io.StringIO()
    monkeypatch.setattr(report, "stderr", Console(file=screen, force_terminal=True, width=120))

    def records(starting):
        for name in ("a.png", "b.png"):
            on_tile = starting(SimpleNamespace(source=name))
            on_tile(1, 2)
            on_tile(2, 2)
            assert "writing" in screen.getvalue()
            yield {"input": name, "output": name, "error": "failed on purpose"}

    failed, reported, stopped = report.run_batch(2, records, json_output=False, quiet=False)
    assert (failed, reported, stopped) == (2, 2, None)
    assert "eta" in screen.getvalue()
