"""Output planning: what ``-o`` names, refused in one line before anything is created."""

from __future__ import annotations

import pytest

from srcli.errors import ImageError
from srcli.tasks.batch import Job, plan_jobs


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A working folder with two inputs, an existing PNG, a text file and a subfolder."""
    monkeypatch.chdir(tmp_path)
    for name in ("a.png", "b.png", "old.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "dir").mkdir()
    return tmp_path


def plan(inputs, output, ext=None, suffix="_x2"):
    return plan_jobs(inputs, output, suffix, ext, recursive=False)


@pytest.mark.parametrize(
    ("inputs", "output", "targets"),
    [
        (["a.png"], None, ["a_x2.png"]),
        (["a.png"], "new.png", ["new.png"]),
        (["a.png"], "old.png", ["old.png"]),  # refused later, unless --overwrite
        (["a.png", "b.png"], "dir", ["dir/a_x2.png", "dir/b_x2.png"]),
        (["a.png", "b.png"], "new", ["new/a_x2.png", "new/b_x2.png"]),
        (["a.png"], "new.png/", ["new.png/a_x2.png"]),  # a trailing slash is a folder, whatever the name
        (["a.png"], "dir/", ["dir/a_x2.png"]),
    ],
)
def test_what_o_names(folder, inputs, output, targets):
    assert [job.target for job in plan(inputs, output)] == targets
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "b.png", "dir", "notes.txt", "old.png"]


@pytest.mark.parametrize(
    ("inputs", "output", "message"),
    [
        (["a.png", "b.png"], "notes.txt", "-o notes.txt is a file, but 2 inputs were given; use a folder"),
        (["a.png", "b.png"], "old.png", "-o old.png names one file, but 2 inputs were given; use a folder"),
        (["a.png"], "notes.txt", "-o notes.txt: exists and is neither a folder nor an image file srcli writes"),
        (["a.png"], "old.png/", "-o old.png/: names a folder, but old.png is a file"),
        (["a.png"], "out.gif", "-o out.gif: srcli cannot write .gif files"),
        (["a.png", "b.png"], "-", "-o - names one file, but 2 inputs were given"),
        (["-"], None, "reading stdin needs -o FILE or -o -"),
        (["-"], "dir", "reading stdin needs -o FILE or -o -"),
    ],
)
def test_what_o_cannot_name_is_one_line_and_creates_nothing(folder, inputs, output, message):
    with pytest.raises(ImageError) as refused:
        plan(inputs, output)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "b.png", "dir", "notes.txt", "old.png"]


def test_a_refused_name_collision_creates_no_folder(folder):
    (folder / "one").mkdir()
    (folder / "two").mkdir()
    (folder / "one" / "x.png").write_bytes(b"x")
    (folder / "two" / "x.png").write_bytes(b"x")
    with pytest.raises(ImageError, match="would both be written to"):
        plan(["one/x.png", "two/x.png"], "out")
    assert not (folder / "out").exists()


def test_stdout_carries_the_asked_format(folder):
    (job,) = plan(["a.png"], "-", ext="jpg")
    assert job.target == "-" and job.suffix == ".jpg"
    (job,) = plan(["a.png"], "new.webp")
    assert job.suffix == ".webp"  # a named file's own extension decides
    (job,) = plan(["a.png"], "new.jpeg", ext="jpg")  # the same format under another name
    assert job.suffix == ".jpeg"


@pytest.mark.parametrize(("output", "ext"), [("new.webp", "jpg"), ("new.png", "tiff"), ("new.tif", "png")])
def test_an_ext_that_contradicts_the_named_file_is_refused(folder, output, ext):
    with pytest.raises(ImageError, match=f"is a .* file but --ext asks for {ext}"):
        plan(["a.png"], output, ext=ext)
    assert not (folder / output).exists()


def test_outputs_under_a_folder_may_create_it_and_others_may_not(folder):
    assert all(job.make_folders for job in plan(["a.png", "b.png"], "new"))
    assert not any(job.make_folders for job in plan(["a.png"], None) + plan(["a.png"], "x/new.png"))


@pytest.mark.parametrize("suffix", ["/x", "../x", "a\0b"])
def test_a_suffix_with_a_path_separator_is_refused(folder, suffix):
    with pytest.raises(ImageError, match="must not contain a path separator"):
        plan(["a.png"], None, suffix=suffix)


def test_an_output_that_is_its_own_input_is_refused(folder):
    with pytest.raises(ImageError, match="its output would be the input itself"):
        plan(["a.png"], None, suffix="")


def test_job_suffix_of_a_named_file():
    assert Job("a.png", "out/b.TIFF").suffix == ".TIFF" and Job("a.png", "-").suffix == ".png"
