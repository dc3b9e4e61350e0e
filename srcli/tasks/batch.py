"""Batches: which files to read, where their outputs go, and one record per file.

INPUT may be a file, a folder (``--recursive`` descends and keeps the tree under ``-o``), a
glob, or ``-`` (stdin). Default output names are ``{stem}{suffix}.{ext}`` beside the input,
or under ``-o`` when it is a folder.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from srcli.errors import ImageError
from srcli.imageio import IMAGE_SUFFIXES, SAVE_FORMATS, STDIO


@dataclass(frozen=True)
class Job:
    """One input and the output it becomes."""

    source: str
    target: str

    def refuse_existing_target(self, overwrite: bool) -> None:
        """Raise before any work when the output exists and may not be replaced."""
        if self.target != STDIO and Path(self.target).exists() and not overwrite:
            raise ImageError(f"{self.target}: exists (pass --overwrite to replace it, or --skip-existing)")


def _folder_images(folder: Path, recursive: bool) -> list[Path]:
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def expand_inputs(inputs: list[str], recursive: bool) -> list[tuple[str, Path | None]]:
    """``(source, root)`` pairs: every file named, found in a folder, or matched by a glob.

    ``root`` is the folder a file was found under (to keep the tree), else None. A folder's
    non-image files are skipped; a named file is passed on whatever it is (its reading reports).
    """
    expanded: list[tuple[str, Path | None]] = []
    for item in inputs:
        path = Path(item)
        if item == STDIO or path.is_file():
            expanded.append((item, None))
        elif path.is_dir():
            expanded += [(str(p), path) for p in _folder_images(path, recursive)]
        elif glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=recursive))
            if not matches:
                raise ImageError(f"{item}: no file matches")
            expanded += [(m, None) for m in matches if Path(m).is_file()]
        else:
            expanded.append((item, None))  # reported as missing when read
    return expanded


def plan_jobs(inputs: list[str], output: str | None, suffix: str, ext: str, recursive: bool) -> list[Job]:
    """Pair every input with its output path.

    ``output``: None (beside each input), ``-`` (stdout, one input only), a file name with an
    image extension (one input only), or a folder (created if missing). An input that is the
    output of another input (``photo_x4.png`` beside ``photo.png``, from an earlier run) is
    left out, so running a folder twice does not upscale its own results.
    """
    if not inputs:
        raise ImageError("no input given")
    sources = expand_inputs(inputs, recursive)
    if not sources:
        raise ImageError(f"no image found in {', '.join(inputs)}")
    extension = ext.lower().lstrip(".")
    if f".{extension}" not in SAVE_FORMATS:
        raise ImageError(f"unknown --ext {ext!r}; use one of png, jpg, webp, tiff, bmp")
    single = len(inputs) == 1 and not Path(inputs[0]).is_dir() and not glob.has_magic(inputs[0])
    if output == STDIO or (output and Path(output).suffix.lower() in SAVE_FORMATS and not Path(output).is_dir()):
        if not single:
            raise ImageError(f"-o {output} names one file, but {len(sources)} inputs were given; use a folder")
        return [Job(sources[0][0], output)]
    if sources[0][0] == STDIO:
        raise ImageError("reading stdin needs -o FILE or -o - (stdout)")
    folder = Path(output) if output else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    jobs = []
    for source, root in sources:
        path = Path(source)
        name = f"{path.stem}{suffix}.{extension}"
        if folder is None:
            target = path.with_name(name)
        elif root is not None:
            target = folder / path.parent.relative_to(root) / name
            target.parent.mkdir(parents=True, exist_ok=True)
        else:
            target = folder / name
        jobs.append(Job(source, str(target)))
    targets = {job.target for job in jobs}
    jobs = [job for job in jobs if job.source not in targets]  # an earlier run's output is not an input
    seen: dict[str, str] = {}
    for job in jobs:
        if job.target in seen:
            raise ImageError(f"{job.source} and {seen[job.target]} would both be written to {job.target}")
        seen[job.target] = job.source
    return jobs
