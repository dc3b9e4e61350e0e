"""Atomic writes: the permissions a plain write gives, no clobbering with or without hard links, nothing left."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from srcli.errors import ImageError
from srcli.io import atomic
from srcli.io.atomic import write_bytes_atomic


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it after."""
    saved = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def no_hard_links(monkeypatch, error: int = errno.EPERM) -> list[tuple[str, str]]:
    """Make ``os.link`` fail as on FAT/exFAT (EPERM) or SMB (EOPNOTSUPP); returns the attempted links."""
    attempts: list[tuple[str, str]] = []

    def refuse(source, target, *args, **kwargs):
        attempts.append((str(source), str(target)))
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(atomic.os, "link", refuse)
    return attempts


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_what_a_plain_write_would(tmp_path, umask, mask, expected):
    umask(mask)
    write_bytes_atomic(b"data", tmp_path / "out.png", overwrite=False)
    plain = tmp_path / "plain"
    plain.write_bytes(b"data")
    assert mode(tmp_path / "out.png") == expected == mode(plain)


def test_overwrite_keeps_the_permissions_of_the_file_it_replaces(tmp_path, umask):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_bytes_atomic(b"new", target, overwrite=True)
    assert target.read_bytes() == b"new" and mode(target) == 0o640
    target.chmod(0o644)
    write_bytes_atomic(b"newer", target, overwrite=True)
    assert mode(target) == 0o644


@pytest.mark.parametrize("error", [errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS])
def test_without_hard_links_a_write_succeeds_with_normal_permissions(tmp_path, umask, monkeypatch, error):
    attempts = no_hard_links(monkeypatch, error)
    write_bytes_atomic(b"data", tmp_path / "out.png", overwrite=False)
    assert attempts, "the hard link was tried first"
    assert (tmp_path / "out.png").read_bytes() == b"data" and mode(tmp_path / "out.png") == 0o644
    assert leftovers(tmp_path) == []


def test_without_hard_links_an_existing_file_is_never_clobbered(tmp_path, monkeypatch):
    no_hard_links(monkeypatch)
    target = tmp_path / "out.png"
    target.write_bytes(b"theirs")
    with pytest.raises(ImageError, match="exists"):
        write_bytes_atomic(b"mine", target, overwrite=False)
    assert target.read_bytes() == b"theirs" and leftovers(tmp_path) == []


@pytest.mark.parametrize("links", [True, False])
def test_a_file_that_appears_during_the_write_is_kept(tmp_path, monkeypatch, links):
    """Another process creates the target after the existence check: its file stays, ours is dropped."""
    target = tmp_path / "out.png"
    real_link = os.link

    def racing_link(source, destination, *args, **kwargs):
        Path(destination).write_bytes(b"theirs")
        if links:
            return real_link(source, destination)
        raise OSError(errno.EPERM, "no hard links here")

    monkeypatch.setattr(atomic.os, "link", racing_link)
    with pytest.raises(ImageError, match="exists"):
        write_bytes_atomic(b"mine", target, overwrite=False)
    assert target.read_bytes() == b"theirs" and leftovers(tmp_path) == []


def test_a_failing_write_leaves_nothing_and_says_why_in_one_line(tmp_path, monkeypatch):
    def disk_full(descriptor, data):
        os.close(descriptor)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic, "_write_all", disk_full)
    with pytest.raises(ImageError) as failure:
        write_bytes_atomic(b"data", tmp_path / "new" / "deeper" / "out.png", overwrite=False, make_folders=True)
    assert str(failure.value) == f"{tmp_path / 'new' / 'deeper' / 'out.png'}: cannot write (No space left on device)"
    assert list(tmp_path.iterdir()) == []  # the folders made for it are gone too


@pytest.mark.parametrize("links", [True, False])
def test_ctrl_c_in_the_middle_leaves_no_temporary_or_placeholder(tmp_path, monkeypatch, links):
    if not links:
        no_hard_links(monkeypatch)

    def interrupted(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", interrupted)
    if links:
        monkeypatch.setattr(atomic.os, "link", lambda source, destination: interrupted(source, destination))
    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(b"data", tmp_path / "sub" / "out.png", overwrite=False, make_folders=True)
    assert list(tmp_path.iterdir()) == []


def test_make_folders_creates_the_tree_and_a_file_in_the_way_is_one_line(tmp_path):
    write_bytes_atomic(b"data", tmp_path / "a" / "b" / "out.png", overwrite=False, make_folders=True)
    assert (tmp_path / "a" / "b" / "out.png").read_bytes() == b"data"
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(ImageError, match="is not a folder"):
        write_bytes_atomic(b"data", tmp_path / "file" / "out.png", overwrite=False, make_folders=True)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc, where no file can be made")
def test_an_unwritable_place_never_shows_the_temporary_name():
    with pytest.raises(ImageError) as failure:
        write_bytes_atomic(b"data", Path("/proc/srcli-out.png"), overwrite=False)
    assert str(failure.value).startswith("/proc/srcli-out.png: cannot write (") and ".tmp" not in str(failure.value)


def test_leftovers_of_killed_writes_are_removed_and_nothing_else(tmp_path, monkeypatch):
    """A writer killed between making its temporary and naming it (SIGKILL) leaves the temporary; the
    sweep takes those of the targets named, once per folder, and no other file."""

    def killed(descriptor, data):
        raise SystemExit  # stands for a death that skips every clean-up

    monkeypatch.setattr(atomic, "_write_all", killed)
    monkeypatch.setattr(atomic, "_clean_up", lambda *args: None)
    for name in ("a.png", "b.png"):
        with pytest.raises(SystemExit):
            write_bytes_atomic(b"data", tmp_path / "sub" / name, overwrite=False, make_folders=True)
    (tmp_path / "sub" / ".c.png.0123abcd.tmp").write_bytes(b"not a target of this batch")
    (tmp_path / "sub" / ".a.png.notours.tmp").write_bytes(b"not a temporary's name")
    assert len(leftovers(tmp_path / "sub")) == 4
    targets = [tmp_path / "sub" / "a.png", str(tmp_path / "sub" / "b.png"), tmp_path / "never" / "x.png", "-"]
    assert atomic.remove_leftovers(targets) == 2
    assert leftovers(tmp_path / "sub") == [".a.png.notours.tmp", ".c.png.0123abcd.tmp"]
    assert atomic.remove_leftovers(targets) == 0
