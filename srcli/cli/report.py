"""What srcli tells the user: rich tables and hints on stderr, JSON Lines on stdout."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from srcli.tasks.run import TileCallback

stderr = Console(stderr=True, highlight=False)


def format_db(value: float | None) -> str:
    """``exact`` for an infinite PSNR, else the value with two decimals."""
    if value is None or math.isinf(value):
        return "exact (∞)"
    return f"{value:.2f} dB"


def print_json(record: Mapping[str, object], stream: TextIO | None = None) -> None:
    """One JSON object on one line of ``stream`` (stdout)."""
    stream = stream or sys.stdout
    stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    stream.flush()


PATH_MIN = 16
"""The fewest characters a path column is cut to (its end), however narrow the terminal."""
WRAPPING_MIN = 20
"""The width a column of prose (not a path) is counted at: it may wrap, a path may not."""


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], paths: Sequence[int] = ()) -> None:
    """A table on stderr; the columns at indices ``paths`` hold paths, which keep their end (``…/photo_x4.png``)
    where the table would be wider than the console, as a shell prompt shortens a folder."""
    cells = [list(row) for row in rows]
    if paths and cells:
        widths = [max(len(str(row[index])) for row in [columns, *cells]) for index in range(len(columns))]
        others = sum(min(width, WRAPPING_MIN) + 3 for index, width in enumerate(widths) if index not in paths)
        room, budgets = stderr.width - others - 1 - 3 * len(paths), {}
        for left, index in enumerate(sorted(paths, key=lambda index: widths[index])):  # the narrow first
            budgets[index] = min(widths[index], max(PATH_MIN, room // (len(paths) - left)))
            room -= budgets[index]
        for row in cells:
            for index in paths:
                row[index] = shorten_path(str(row[index]), budgets[index])
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, no_wrap=index in paths)
    for row in cells:
        table.add_row(*row)
    stderr.print(table)


def shorten_path(path: str, width: int) -> str:
    """``path`` in at most ``width`` characters (more where its file name needs them), keeping its end:
    ``…/examples/starfish_x4.png``."""
    width = max(width, len(path.rsplit("/", 1)[-1]) + 2)
    if len(path) <= width:
        return path
    tail = path[len(path) - width + 1 :]
    if "/" in tail[:-1]:
        tail = tail[tail.index("/") :]  # from a folder boundary: …/folder/photo_x4.png
    return "…" + tail


def note(message: str) -> None:
    """A hint on stderr (never mixed with results on stdout)."""
    stderr.print(message, markup=False, soft_wrap=True)  # one line per note, also in a log file


def error(message: str) -> None:
    """One error line on stderr."""
    stderr.print(Text.assemble(("srcli: error: ", "bold red"), message), soft_wrap=True)


def interrupted(message: str) -> None:
    """The one line that says Ctrl-C stopped a command."""
    stderr.print(Text.assemble(("srcli: interrupted: ", "bold yellow"), message), soft_wrap=True)


def internal_error(message: str) -> None:
    """The line that says an exception is a bug in srcli (after its traceback, on stderr)."""
    stderr.print(
        Text.assemble(("srcli: internal error (a bug; please report it): ", "bold red"), message), soft_wrap=True
    )


def _summary_row(record: Mapping[str, Any]) -> list[str]:
    if record.get("error"):
        return [str(record["input"]), "—", "—", "—", f"failed: {record['error']}"]
    if record.get("skipped"):
        return [str(record["input"]), str(record["output"]), "—", "—", "skipped (output exists)"]
    size_in, size_out = record["input_size"], record["output_size"]
    return [
        str(record["input"]),
        str(record["output"]),
        f"{size_in[0]}×{size_in[1]} → {size_out[0]}×{size_out[1]}",
        f"{record['seconds']:.2f} s",
        consistency_verdict(record),
    ]


def consistency_verdict(record: Mapping[str, Any]) -> str:
    """How consistent a saved file is, from its record: ``exact (∞)``, ``52.10 dB``, a colorization's gray, the share
    of a JPEG's coefficients reproduced, a relaxed projection's residual."""
    psnr = record["consistency_psnr_db"]
    verdict = (
        "exact (∞)"
        if psnr is None
        else f"{psnr:.2f} dB" + ("" if not record["consistency_exact"] else ", rounds exact")
    )
    if "gray" in record:  # a colorization: the float PSNR of its gray and whether the gray an editor makes is exact
        figure = "∞" if psnr is None else f"{psnr:.2f}"
        verdict = f"{figure} dB, {record['gray']} gray {'exact' if record['consistency_exact'] else 'not exact'}"
    if record.get("consistency") == "jpeg":
        share = record["jpeg_coefficients_reproduced"]
        verdict = "consistent with the JPEG" + (
            "" if record["jpeg_exact"] else f": {100 * share:.3f} % of coefficients"
        )
    if "residual_rms" in record:  # a projection relaxed to a noise level
        verdict += f", saved file's residual σ {record['residual_rms']:.2f} (target {record['noise']:.2f})"
    return verdict


def describe_run(record: Mapping[str, object]) -> str:
    """What ran, from a file's record: ``model (arch, 16.70 M parameters, ×4, smooth correction)``, or
    ``compact-x8 (compact, 0.41 M parameters, ×5, resampled from ×8 (area), nearest correction)``; empty
    when the record names no model."""
    if "model" not in record:
        return ""
    parts = [str(record["arch"])] if record.get("arch") else []
    parameters = record.get("parameters")
    if isinstance(parameters, int):
        parts.append(f"{parameters / 1e6:.2f} M parameters")
    if record.get("scale"):
        parts.append(f"×{record['scale']}")
    if record.get("resample"):
        parts.append(f"resampled from ×{record['estimate_scale']} ({record['resample']})")
    if record.get("correction"):
        parts.append(f"{record['correction']} correction")
    if record.get("tiles_as_untiled") is False:
        floor = record.get("tiled_psnr_floor_db")
        bound = f"measured ≥ {floor:.1f} dB against untiled" if floor else "unmeasured: seams possible"
        parts.append(f"tiles blended, overlap under the receptive radius: {bound}")
    return f"{record['model']} ({', '.join(parts)})" if parts else str(record["model"])


Records = Callable[[Callable[[Any], "TileCallback"]], Iterator[dict[str, Any]]]
"""A batch's records as its engine makes them: ``records(starting)`` yields one record per file; the local
engine calls ``starting(job)`` before each file, for the callback that shows its tiles' and projection's progress."""


def run_batch(total: int, records: Records, json_output: bool, quiet: bool) -> tuple[int, int, str | None]:
    """Report a batch of ``total`` files as its records come; returns ``(files failed, files reported,
    what stopped it)``: None, ``"Ctrl-C"`` or ``"SIGTERM"``.

    A failing file has a record with ``error`` and the batch goes on; with ``quiet`` (no table), or where it
    is the batch's only file (no table then), its error is one line on stderr. Records go to stdout as JSON
    Lines with ``json_output``; a progress bar and then a summary table go to stderr unless ``quiet``. Ctrl-C
    or SIGTERM stops the batch (:mod:`srcli.tasks.interrupts`): at once while a file is computed, after its
    record while one is written; the files done are listed, and one line says where it stopped.
    """
    from pathlib import Path

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from srcli.tasks.interrupts import Terminated, held_interrupts

    stdout = sys.stdout  # the engine may send other writers' lines elsewhere meanwhile (srcli.tasks.raybatch)
    done: list[dict[str, Any]] = []
    progress = Progress(
        SpinnerColumn(),  # turns while a file is finished and written, when no count moves
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=stderr,
        disable=quiet or not stderr.is_terminal,  # a log file gets the table, not a bar's leftovers
        transient=True,
    )
    stopped: str | None = None
    with held_interrupts() as held, progress:
        files = progress.add_task("files", total=total)
        tiles = progress.add_task("tiles", total=1, visible=False)

        def starting(job: Any) -> TileCallback:
            progress.update(files, description=f"[bold]{Path(job.source).name}")
            progress.reset(tiles, total=1, visible=True, description="tiles")
            shown = ["tiles"]

            def on_tile(finished: int, all_tiles: int, stage: str = "tiles") -> None:
                last = finished >= all_tiles  # then what comes next (a projection, the write) is not this count
                if stage != shown[0]:  # another count (a projection's steps): its speed and ETA start afresh
                    shown[0] = stage
                    progress.reset(tiles, total=all_tiles, completed=finished, description=stage)
                progress.update(tiles, completed=finished, total=all_tiles, description="writing" if last else stage,
                                refresh=last)  # fmt: skip

            return on_tile

        stream = records(starting)
        try:
            for record in stream:
                progress.update(tiles, visible=False)
                if record["error"] and (quiet or total == 1):  # no table, or one for one failure: one line
                    message, source = str(record["error"]), str(record["input"])
                    error(message if source in message else f"{source}: {message}")
                done.append(record)
                if json_output:
                    print_json(record, stdout)
                progress.advance(files)
                if held.pending:
                    stopped = "SIGTERM" if held.terminated else "Ctrl-C"
                    break
        except KeyboardInterrupt as stop:
            stopped = "SIGTERM" if isinstance(stop, Terminated) else "Ctrl-C"
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # the engine stops and cleans up before the summary
    failed = sum(1 for record in done if record.get("error"))
    if not quiet and not (total == 1 and failed == 1):  # a single input that failed: its one line said it
        ran = next((describe_run(record) for record in done if not record.get("error") and "model" in record), "")
        title = f"{len(done)} file(s), {failed} failed" + (f" · {ran}" if ran else "")
        columns, rows = ["input", "output", "size", "time", "consistency"], [_summary_row(r) for r in done]
        if any("colourfulness" in record for record in done):  # a colorization's colour, beside its consistency
            columns.append("colourfulness")
            for row, record in zip(rows, done, strict=True):
                row.append(f"{record['colourfulness']:.1f}" if "colourfulness" in record else "—")
        print_table(
            f"stopped after {len(done)} of {total} file(s), {failed} failed" if stopped else title,
            columns,
            rows,
            paths=(0, 1),
        )
    if stopped:
        interrupted(f"stopped after {len(done)} of {total} file(s); the files written are complete")
    return failed, len(done), stopped
