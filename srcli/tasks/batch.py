"""Batches: which files to read, where their outputs go, and one record per file.

INPUT may be a file, a folder (``--recursive`` descends and keeps the tree under ``-o``), a
glob, or ``-`` (stdin). Default output names are ``{stem}{suffix}.{ext}`` beside the input,
or under ``-o`` when it is a folder. Nothing is created while planning: the folders under ``-o``
are made when their first file is written (and removed again if that write fails).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from srcli.errors import ImageError
from srcli.io.images import IMAGE_SUFFIXES, SAVE_FORMATS, STDIO, is_image_suffix

WRITABLE = ", ".join(sorted(SAVE_FORMATS))


@dataclass(frozen=True)
class Job:
    """One input and the output it becomes.

    ``stdout_format``: the format written when ``target`` is ``-`` (stdout), as a suffix (``.png``).
    ``make_folders``: the target's folders may be created (an output under ``-o FOLDER``).
    """

    source: str
    target: str
    stdout_format: str = ".png"
    make_folders: bool = False

    @property
    def suffix(self) -> str:
        """The output format as a suffix: the target's own, or ``stdout_format`` for stdout."""
        return self.stdout_format if self.target == STDIO else Path(self.target).suffix

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


def _output_kind(output: str | None, single: bool, count: int) -> str:
    """What ``-o`` names: ``beside`` (None), ``stdout``, ``file`` or ``folder``; refuses what it cannot be.

    A trailing slash always means a folder. An existing file, or a name with an image extension, is a
    file (one input only); an image extension srcli cannot write (``.gif``) is refused rather than
    taken for a folder name; any other name is a folder.
    """
    if output is None:
        return "beside"
    path = Path(output)
    if output == STDIO or (path.suffix.lower() in SAVE_FORMATS and not path.is_dir() and not _is_folder_spec(output)):
        if not single:
            raise ImageError(f"-o {output} names one file, but {count} inputs were given; use a folder")
        return "stdout" if output == STDIO else "file"
    if path.exists() and not path.is_dir():
        if _is_folder_spec(output):
            raise ImageError(f"-o {output}: names a folder, but {path} is a file")
        if not single:
            raise ImageError(f"-o {output} is a file, but {count} inputs were given; use a folder")
        raise ImageError(f"-o {output}: exists and is neither a folder nor an image file srcli writes ({WRITABLE})")
    if not path.exists() and not _is_folder_spec(output) and is_image_suffix(path.suffix):
        raise ImageError(f"-o {output}: srcli cannot write {path.suffix} files; use one of {WRITABLE}")
    return "folder"


def _is_folder_spec(output: str) -> bool:
    """Whether ``output`` ends with a path separator (``out/``): a folder, whatever its name."""
    return output.endswith(tuple(sep for sep in (os.sep, os.altsep) if sep))


def plan_jobs(inputs: list[str], output: str | None, suffix: str, ext: str | None, recursive: bool) -> list[Job]:
    """Pair every input with its output path.

    ``output``: None (beside each input), ``-`` (stdout, one input only, in the format ``ext``), a
    file name with an image extension (one input only; an ``ext`` given must be its format), or a
    folder (``out/``, an existing folder, or a new name without an image extension; made when the
    first file is written); ``ext`` None is png. An input that is the output of another input
    (``photo_x4.png`` beside ``photo.png``, from an earlier run) is left out, so running a folder
    twice does not upscale its own results.
    """
    if not inputs:
        raise ImageError("no input given")
    if any(sep in suffix for sep in (os.sep, os.altsep, "\0") if sep):
        raise ImageError(f"suffix {suffix!r} must not contain a path separator")
    sources = expand_inputs(inputs, recursive)
    if not sources:
        raise ImageError(f"no image found in {', '.join(inputs)}")
    extension = (ext or "png").lower().lstrip(".")
    if f".{extension}" not in SAVE_FORMATS:
        raise ImageError(f"{ext!r} is unknown; use one of png, jpg, webp, tiff, bmp", "ext")
    single = len(inputs) == 1 and not Path(inputs[0]).is_dir() and not glob.has_magic(inputs[0])
    kind = _output_kind(output, single, len(sources))
    if kind == "file" and ext is not None:
        named = Path(str(output)).suffix.lower()
        if SAVE_FORMATS.get(named) != SAVE_FORMATS[f".{extension}"]:
            raise ImageError(f"-o {output} is a {named} file but --ext asks for {extension}: give only one of them")
    if kind in ("stdout", "file"):
        return [Job(sources[0][0], str(output), stdout_format=f".{extension}")]
    if sources[0][0] == STDIO:
        raise ImageError("reading stdin needs -o FILE or -o - (stdout)")
    folder = Path(output) if kind == "folder" and output is not None else None
    jobs = []
    for source, root in sources:
        path = Path(source)
        name = f"{path.stem}{suffix}.{extension}"
        if folder is None:
            target = path.with_name(name)
        elif root is not None:
            target = folder / path.parent.relative_to(root) / name
        else:
            target = folder / name
        if os.path.abspath(target) == os.path.abspath(source):
            raise ImageError(f"{source}: its output would be the input itself; choose another suffix or -o")
        jobs.append(Job(source, str(target), make_folders=folder is not None))
    targets = {job.target for job in jobs}
    jobs = [job for job in jobs if job.source not in targets]  # an earlier run's output is not an input
    seen: dict[str, str] = {}
    for job in jobs:
        if job.target in seen:
            raise ImageError(f"{job.source} and {seen[job.target]} would both be written to {job.target}")
        seen[job.target] = job.source
    return jobs
