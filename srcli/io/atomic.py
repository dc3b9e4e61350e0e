"""Atomic, never-clobbering file writes that leave nothing behind and the permissions a plain write would.

The bytes go to a temporary file beside the target (created with ``O_EXCL``, mode ``0666`` less the
umask, as ``open(path, "w")`` would make it), which then takes the target's name:

* replacing (``overwrite``): ``os.replace``, keeping the replaced file's permission bits;
* never clobbering: ``os.link`` to the target, which fails if the name exists, then the temporary is
  removed. Where the filesystem has no hard links (FAT, exFAT, many SMB/CIFS shares) the name is
  reserved instead with an ``O_CREAT | O_EXCL`` open of the target, which fails just the same if the
  name exists, and the finished temporary is renamed over that empty placeholder. Either way a file
  another process creates in the meantime is never replaced; the fallback shows an empty file under
  the target's name for the instant between the reservation and the rename.

On any failure, Ctrl-C included, the temporary, a placeholder still ours and folders made for the
target are removed. A writer killed outright (``SIGKILL``, a lost machine) cannot clean up: its
temporary stays until :func:`remove_leftovers` is called for the target.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from srcli.errors import ImageError

STDIO = "-"
NO_HARD_LINKS = {errno.EPERM, errno.EACCES, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK, errno.EXDEV}
"""``os.link`` errors that mean the filesystem cannot link, not that the name is taken."""


TEMPORARY = re.compile(r"\.(?P<name>.+)\.[0-9a-f]{8}\.tmp")
"""The name of a temporary (:func:`_create_temporary`), holding the name of its target."""


def _exists_error(target: Path) -> ImageError:
    return ImageError(f"{target}: exists (pass --overwrite to replace it)")


def _create_temporary(folder: Path, name: str) -> tuple[int, Path]:
    """An open descriptor and path of a new, empty ``.{name}.XXXXXXXX.tmp`` in ``folder`` (mode 0666 & ~umask)."""
    for _ in range(100):
        path = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), path
        except FileExistsError:
            continue
    raise OSError(errno.EAGAIN, "no free temporary name")  # not EEXIST: the target itself is not taken


def _write_all(descriptor: int, data: bytes) -> None:
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist, outermost first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def _link_or_reserve(temporary: Path, target: Path) -> int | None:
    """Give ``temporary`` the name ``target`` if it is free; raises ``FileExistsError`` if it is not.

    Returns the descriptor of the placeholder when the fallback reserved the name (then the caller
    renames ``temporary`` over it), else None (hard-linked: the caller removes ``temporary``).
    """
    try:
        os.link(temporary, target)
        return None
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in NO_HARD_LINKS:
            raise
    return os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        mine, there = os.fstat(descriptor), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def write_bytes_atomic(data: bytes, target: Path | str, overwrite: bool, make_folders: bool = False) -> None:
    """Write ``data`` to ``target`` (``-``: stdout) atomically; see the module docstring.

    Without ``overwrite`` an existing target is left untouched and :class:`ImageError` is raised.
    ``make_folders`` creates the target's missing folders (removed again if the write fails);
    otherwise a missing folder is an error. Every failure is one :class:`ImageError` line.
    """
    if str(target) == STDIO:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(target)
    folder = target.parent
    missing = _missing_folders(folder) if make_folders else []
    if not missing and not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ImageError(f"{target}: output folder {folder} {what}")
    if target.exists() and not overwrite:
        raise _exists_error(target)
    created: list[Path] = []
    temporary: Path | None = None
    placeholder: int | None = None
    done = False
    try:
        _make_folders(missing, target, created)
        descriptor, temporary = _create_temporary(folder, target.name)
        _write_all(descriptor, data)
        if overwrite:
            _keep_mode(temporary, target)
            os.replace(temporary, target)
        else:
            placeholder = _link_or_reserve(temporary, target)
            if placeholder is None:
                os.unlink(temporary)
            else:
                os.replace(temporary, target)
        done = True
    except FileExistsError:
        raise _exists_error(target) from None
    except OSError as error:
        raise ImageError(f"{target}: cannot write ({error.strerror or type(error).__name__})") from None
    finally:
        if not done:
            _clean_up(temporary, placeholder, target, created)
        elif placeholder is not None:
            os.close(placeholder)


def _make_folders(missing: list[Path], target: Path, created: list[Path]) -> None:
    """Create ``missing`` folders (outermost first), adding to ``created`` each one this call made."""
    for folder in missing:
        try:
            folder.mkdir()
        except FileExistsError:
            if folder.is_dir():
                continue  # made by someone else meanwhile: not ours to remove
            raise ImageError(f"{target}: {folder} is not a folder") from None
        except OSError as error:
            raise ImageError(f"{target}: cannot make folder {folder} ({error.strerror})") from None
        created.append(folder)


def _keep_mode(temporary: Path, target: Path) -> None:
    """Give ``temporary`` the permission bits of the file it replaces, as writing into that file would."""
    try:
        if target.is_file():
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
    except OSError:
        pass  # FAT and some shares have no permission bits to keep: the umask's mode stands


def _clean_up(temporary: Path | None, placeholder: int | None, target: Path, created: list[Path]) -> None:
    """After a failed write: remove the temporary, our placeholder (only while it is still ours and
    empty) and the folders this write made."""
    if temporary is not None:
        temporary.unlink(missing_ok=True)
    if placeholder is not None:
        if _same_file(placeholder, target) and os.fstat(placeholder).st_size == 0:
            target.unlink(missing_ok=True)
        os.close(placeholder)
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            break  # not empty (another writer's file) or already gone: leave the rest


def remove_leftovers(targets: Iterable[Path | str]) -> int:
    """Remove the temporaries that killed writers of ``targets`` left beside them; returns how many.

    Each output folder is listed once. Call it only when no writer of these targets is running (a
    live writer's temporary would be taken from it, and its write would then fail, leaving nothing).
    """
    names: dict[Path, set[str]] = {}
    for target in targets:
        if str(target) != STDIO:
            path = Path(target)
            names.setdefault(path.parent, set()).add(path.name)
    removed = 0
    for folder, wanted in names.items():
        try:
            entries = [entry.name for entry in os.scandir(folder)]
        except OSError:
            continue  # never made, or gone: nothing of ours is there
        for entry in entries:
            match = TEMPORARY.fullmatch(entry)
            if match and match["name"] in wanted:
                try:
                    (folder / entry).unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed
