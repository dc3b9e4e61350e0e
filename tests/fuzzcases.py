"""What a new user gets wrong, and the one contract srcli must keep for each (tests/cli/test_robustness.py,
benchmarks/house/robustness.py).

A :class:`Case` is a command line run in a fresh folder holding the assets of :func:`make_assets`, under the
:class:`tests.sandbox.Sandbox`'s memory and time limits. :func:`judge` holds it to the contract: the
documented exit status (0 done, 1 some files of a batch failed and others not, 2 bad input or every file
failed, 130 Ctrl-C; never 70, a bug, nor a hang or a kill), no traceback, on failure exactly one line on
stderr (``srcli: error: …``), nothing created, changed or removed unless it succeeded (and then only its
outputs, with the permissions a plain write gives under umask 022), stdout holding the image or the JSON,
never both.

The cases come from three generators a fuzzer draws from (:func:`numeric_case`, :func:`output_case`,
:func:`checkpoint_case`) and from the lists of issues 28 and 39 (:func:`issue_cases`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from tests.sandbox import Outcome

MEMORY = 2 << 30
"""Address space a case may add to the zygote's (bytes): far above what any case needs."""
TIMEOUT = 60.0
"""Seconds before a case counts as hung (every case takes well under 5 s on 2 loaded cores)."""
CPUS = os.cpu_count() or 1
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Case:
    """One command line and what the documentation says it must do.

    ``status``: the exit statuses allowed (one, except where the input decides, as for a random
    flipped byte). ``outputs``: the files a success leaves (relative to the case folder).
    ``message``: a piece of text the error line must hold. ``stdout``: ``png``, ``jpeg``, ``webp``,
    ``tiff``, ``json`` or ``empty``. ``setup`` prepares the folder; ``check`` judges more of the outcome.
    ``any_outputs``: a success may create any new path (the case's value names where it writes).
    ``closed_stdout``: stdout is a pipe whose reader has gone (``| head -1``).
    """

    name: str
    args: tuple[str, ...]
    status: frozenset[int]
    outputs: tuple[str, ...] = ()
    message: str | None = None
    stdout: str | None = None
    stdin: str | None = None
    weights: bool = False
    no_hard_links: bool = False
    interrupt_when: str | None = None
    setup: Callable[[Path], None] | None = None
    check: Callable[[Path, Outcome], str | None] | None = None
    any_outputs: bool = False
    closed_stdout: bool = False


def case(name: str, args: list[str], status: int | set[int], **more) -> Case:
    statuses = frozenset(status if isinstance(status, set) else {status})
    return Case(name, tuple(str(a) for a in args), statuses, **more)


# ---------------------------------------------------------------- assets


def _smooth(generator: torch.Generator, channels: int, height: int, width: int) -> torch.Tensor:
    noise = torch.randint(0, 256, (1, channels, height, width), generator=generator).double()
    return F.avg_pool2d(noise, 3, 1, 1, count_include_pad=False)[0].round().to(torch.uint8)


def _save(tensor: torch.Tensor, path: Path) -> None:
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[tensor.shape[0]]
    array = tensor.permute(1, 2, 0).numpy()
    Image.fromarray(array[:, :, 0] if mode == "L" else array, mode=mode).save(path)


def make_assets(folder: Path) -> None:
    """The files every case starts from (made once, copied into each case folder; all mode 0644)."""
    from srcli.archs.compact import SRVGGNetCompact
    from srcli.checkpoints.load import save_checkpoint
    from srcli.maths.box import box_rounded
    from srcli.tasks.cs import sample_file

    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(28)
    _save(_smooth(generator, 3, 10, 12), folder / "a.png")
    _save(_smooth(generator, 3, 10, 12), folder / "b.png")
    _save(_smooth(generator, 1, 16, 16), folder / "g.png")
    shutil.copyfile(folder / "a.png", folder / "old.png")
    (folder / "notes.txt").write_text("not an image\n")
    (folder / "dir").mkdir()
    hr = _smooth(generator, 3, 20, 24)
    _save(hr, folder / "sr.png")
    _save(box_rounded(hr, 2).to(torch.uint8), folder / "lr.png")  # the SR is exact against it
    _save((hr.int() + torch.randint(-9, 10, hr.shape, generator=generator)).clamp(0, 255).to(torch.uint8),
          folder / "noisy_sr.png")  # fmt: skip
    _save(torch.cat([hr, torch.full((1, 20, 24), 255, dtype=torch.uint8)]), folder / "rgba_sr.png")
    (folder / "bench").mkdir()
    _save(_smooth(generator, 3, 24, 24), folder / "bench" / "hr.png")
    torch.manual_seed(0)
    save_checkpoint(folder / "x2.safetensors", SRVGGNetCompact(3, 8, 2, 2), {"task": "sr"})
    sample_file(folder / "a.png", folder / "m.safetensors", 0.1, 0, overwrite=False)
    make_odd_inputs(folder)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (hidden ones too): a file's sha256 and mode, or ``dir``."""
    entries = {}
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        if path.is_dir() and not path.is_symlink():
            entries[relative] = "dir"
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            entries[relative] = f"{digest} {stat.S_IMODE(path.lstat().st_mode):o}"
    return entries


# ---------------------------------------------------------------- the contract


@dataclass
class Verdict:
    """How a case went: ``problems`` is empty when it kept the contract."""

    case: Case
    outcome: Outcome
    problems: list[str] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)

    @property
    def one_line_and_right_status(self) -> bool:
        return not [p for p in self.problems if not p.startswith("left behind")]

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.case.name,
            "args": list(self.case.args),
            "expected": sorted(self.case.status),
            "status": self.outcome.status,
            "stderr": self.outcome.stderr.strip().splitlines()[-1:] or [""],
            "seconds": round(self.outcome.seconds, 3),
            "peak_mb": round(self.outcome.peak_mb, 1),
            "left_behind": self.left_behind,
            "problems": self.problems,
        }


MAGIC = {
    "png": b"\x89PNG\r\n\x1a\n",
    "jpeg": b"\xff\xd8\xff",
    "webp": b"RIFF",
    "tiff": (b"II*\x00", b"MM\x00*"),
}


def _stdout_problem(kind: str | None, data: bytes) -> str | None:
    if kind is None:
        return None
    if kind == "empty":
        return None if not data else f"stdout holds {len(data)} bytes, expected nothing"
    if kind == "json":
        try:
            [json.loads(line) for line in data.decode().splitlines()]
        except (UnicodeDecodeError, json.JSONDecodeError):
            return "stdout is not JSON Lines"
        return None if data else "stdout holds no JSON"
    magic = MAGIC[kind]
    if not data.startswith(magic):
        return f"stdout is not one {kind} image (starts {data[:8]!r})"
    try:
        Image.open(io.BytesIO(data)).load()
    except Exception as error:
        return f"stdout is not a readable {kind}: {error}"
    return None


def judge(case: Case, outcome: Outcome, folder: Path, before: dict[str, str], after: dict[str, str]) -> Verdict:
    """Hold ``outcome`` (of ``case`` run in ``folder``) to the contract of the module docstring."""
    verdict = Verdict(case, outcome)
    problems = verdict.problems
    lines = outcome.stderr_lines
    if outcome.timed_out:
        problems.append(f"hung: killed after {outcome.seconds:.0f} s")
    elif outcome.status < 0:
        problems.append(f"killed by signal {-outcome.status} (memory limit?)")
    elif outcome.status not in case.status:
        problems.append(f"exit {outcome.status}, documented {sorted(case.status)}: {lines[-1:] or ''}")
    if "Traceback" in outcome.stderr or "internal error" in outcome.stderr:
        problems.append("a traceback")
    if outcome.status > 0 and not outcome.timed_out:
        prefix = "srcli: interrupted:" if outcome.status == EXIT_INTERRUPTED else "srcli: error:"
        if len(lines) != 1 or not lines[0].startswith(prefix):
            problems.append(f"{len(lines)} lines on stderr, expected one '{prefix} …' line")
        elif case.message and case.message not in lines[0]:
            problems.append(f"the error line lacks {case.message!r}: {lines[0]}")
    changed = sorted({path for path, state in after.items() if before.get(path) != state} | (set(before) - set(after)))
    allowed = _with_folders(case.outputs) if outcome.status == 0 else set()
    if outcome.status == 0 and case.any_outputs:
        allowed |= {path for path in changed if path not in before}
    allowed |= _with_folders(_recorded_outputs(outcome))  # a batch stopped midway keeps what it reported
    inside = tuple(f"{output}/" for output in case.outputs) if outcome.status == 0 else ()  # an output folder's files
    verdict.left_behind = [path for path in changed if path not in allowed and not path.startswith(inside or ("\0",))]
    if verdict.left_behind:
        problems.append(f"left behind: {', '.join(verdict.left_behind)}")
    if outcome.status == 0:
        for output in case.outputs:
            state = after.get(output)
            if state is None:
                problems.append(f"{output} was not written")
            elif state != "dir" and not state.endswith(" 644"):
                problems.append(f"{output} has mode {state.split()[-1]}, a plain write gives 644 (umask 022)")
    stdout = _stdout_problem(case.stdout, outcome.stdout)
    if stdout and (outcome.status == 0 or case.stdout == "empty"):
        problems.append(stdout)
    if case.check and not problems:
        try:
            extra = case.check(folder, outcome)
        except Exception as error:  # the outcome is not what the check can read: that is its verdict
            extra = f"{case.check.__name__} could not read the outcome: {type(error).__name__}: {error}"
        if extra:
            problems.append(extra)
    return verdict


def _recorded_outputs(outcome: Outcome) -> tuple[str, ...]:
    """The files that the JSON records on stdout say were written (after Ctrl-C: complete, and kept)."""
    if outcome.status != EXIT_INTERRUPTED:
        return ()
    outputs = []
    for line in outcome.stdout.decode(errors="replace").splitlines():
        try:
            output = json.loads(line).get("output")
        except (json.JSONDecodeError, AttributeError):
            continue
        if output and output != "-":
            outputs.append(str(Path(output)))
    return tuple(outputs)


def _with_folders(outputs: tuple[str, ...]) -> set[str]:
    allowed = set(outputs)
    for output in outputs:
        allowed |= {str(parent) for parent in Path(output).parents if str(parent) != "."}
    return allowed


def run_case(sandbox, case: Case, assets: Path, work: Path) -> Verdict:
    """Copy the assets into ``work`` (which must not exist), run the case there, judge it."""
    shutil.copytree(assets, work)
    if case.setup:
        case.setup(work)
    before = snapshot(work)
    outcome = sandbox.run(
        list(case.args),
        work,
        stdin=work / case.stdin if case.stdin else None,
        timeout=TIMEOUT,
        memory=MEMORY,
        weights=work / "weights" if case.weights else None,
        interrupt_when=case.interrupt_when,
        no_hard_links=case.no_hard_links,
        closed_stdout=case.closed_stdout,
    )
    return judge(case, outcome, work, before, snapshot(work))


# ---------------------------------------------------------------- numeric options


@dataclass(frozen=True)
class NumericOption:
    """A numeric option of a command and the values it documents as usable.

    ``base``: the rest of a command line that succeeds (or, for training, fails in one known line) with
    any usable value; ``usable(value)``: whether a value parsed from the string is documented as usable.
    """

    flag: str
    kind: type
    base: tuple[str, ...]
    usable: Callable[[float], bool]
    outputs: tuple[str, ...] = ()
    stdout: str | None = None
    usable_status: int = 0
    usable_message: str | None = None
    refusal: Callable[[float | None], str | None] | None = None
    """What the error line says for an unusable value, where it is not the flag (a scale the image forbids)."""


def _positive(value: float) -> bool:
    return value > 0


def _not_negative(value: float) -> bool:
    return value >= 0


def _any(value: float) -> bool:
    return True


UPSCALE = ("upscale", "a.png", "--model", "x2.safetensors", "-o", "out.png", "-q")
COLORIZE = ("colorize", "g.png", "-o", "out.png", "-q")
TRAIN = {
    "sr": ("train", "sr", "--scale", "4", "--data", "missing", "--out", "w.safetensors"),
    "cs": ("train", "cs", "--ratio", "0.1", "--data", "missing", "--out", "w.safetensors"),
    "colorize": ("train", "colorize", "--data", "missing", "--out", "w.safetensors"),
}
MISSING_DATA = "training folder not found"


def _train(flag: str, kind: type, usable: Callable[[float], bool], tasks=("sr", "cs", "colorize")) -> list:
    return [
        NumericOption(flag, kind, TRAIN[task], usable, usable_status=2, usable_message=MISSING_DATA) for task in tasks
    ]


NUMERIC = [
    NumericOption("--tile", int, UPSCALE, _not_negative, ("out.png",)),
    NumericOption("--tile-overlap", int, UPSCALE, _not_negative, ("out.png",)),
    NumericOption(
        "--scale",
        int,
        UPSCALE,
        lambda v: v == 2,
        ("out.png",),
        refusal=lambda v: "upscales ×2" if v is not None and 3 <= v <= 8 else None,
    ),
    NumericOption("--quality", int, (*UPSCALE[:-3], "-o", "out.jpg", "-q"), lambda v: 1 <= v <= 100, ("out.jpg",)),
    NumericOption(
        "--quality", int, ("colorize", "g.png", "-o", "out.webp", "-q"), lambda v: 1 <= v <= 100, ("out.webp",)
    ),
    NumericOption("--temperature", float, COLORIZE, lambda v: 0.01 <= v <= 100, ("out.png",)),
    NumericOption("--saturation", float, COLORIZE, lambda v: 0 <= v <= 10, ("out.png",)),
    NumericOption("--tile", int, COLORIZE, _not_negative, ("out.png",)),
    NumericOption("--tile-overlap", int, COLORIZE, _not_negative, ("out.png",)),
    NumericOption(
        "--ratio",
        float,
        ("cs", "sample", "a.png", "-o", "s.safetensors", "--json", "--no-model-check"),
        lambda v: 0 < v <= 1,
        ("s.safetensors",),
        "json",
    ),
    NumericOption(
        "--seed",
        int,
        ("cs", "sample", "a.png", "--ratio", "0.1", "-o", "s.safetensors", "--json", "--no-model-check"),
        _any,
        ("s.safetensors",),
        "json",
    ),
    NumericOption(
        "--tile",
        int,
        ("cs", "reconstruct", "m.safetensors", "-o", "out.png", "--json"),
        _not_negative,
        ("out.png",),
        "json",
    ),
    NumericOption("--min-psnr", float, ("check", "sr.png", "lr.png", "--json"), _any, (), "json"),
    NumericOption(
        "--scale",
        int,
        ("check", "sr.png", "lr.png", "--json"),
        lambda v: v == 2,
        (),
        "json",
        refusal=lambda v: "is not ×" if v is not None and 2 <= v <= 16 else None,
    ),
    NumericOption(
        "--scale",
        int,
        ("degrade", "a.png", "-o", "small.png"),
        lambda v: 2 <= v <= 10,
        ("small.png",),
        refusal=lambda v: "smaller than one" if v is not None and 10 < v <= 16 else None,
    ),
    NumericOption(
        "--threads",
        int,
        ("bench", "--data", "bench", "--model", "x2.safetensors", "--json"),
        lambda v: 1 <= v <= CPUS,
        (),
        "json",
    ),
    NumericOption(
        "--tile", int, ("bench", "--data", "bench", "--model", "x2.safetensors", "--json"), _not_negative, (), "json"
    ),
    *_train("--steps", int, _positive),
    *_train("--batch", int, lambda v: 1 <= v <= 4096),
    *_train("--patch", int, lambda v: 1 <= v <= 4096, tasks=("sr",)),
    *_train("--patch", int, lambda v: 1 <= v <= 4096 and v % 32 == 0, tasks=("cs",)),
    *_train("--patch", int, lambda v: 1 <= v <= 4096 and v % 4 == 0, tasks=("colorize",)),
    *_train("--num-feat", int, lambda v: 1 <= v <= 1024),
    *_train("--num-conv", int, lambda v: 1 <= v <= 256),
    *_train("--val-every", int, _positive),
    *_train("--stop-at", int, _not_negative),
    *_train("--seed", int, _any),
    *_train("--lr", float, _positive),
    *_train("--minutes", float, _positive),
    *_train("--ema", float, lambda v: 0 <= v < 1),
    *_train("--threads", int, lambda v: 1 <= v <= CPUS),
    *_train("--scale", int, lambda v: 2 <= v <= 16, tasks=("sr",)),
    *_train("--rescale", float, lambda v: 0 < v < 1, tasks=("sr",)),
    *_train("--ratio", float, lambda v: 0 < v <= 1, tasks=("cs",)),
    *_train("--sensing-seed", int, _any, tasks=("cs",)),
    *_train("--temperature", float, _positive, tasks=("colorize",)),
    *_train("--sigma", float, _positive, tasks=("colorize",)),
    *_train("--rebalance", float, lambda v: 0 <= v <= 1, tasks=("colorize",)),
]
"""Every numeric option of every command, with the range its help documents."""

NOT_NUMBERS = ("abc", "", "1.5.2", "0x10", "1,5")
INT64 = 2**63


def parse(kind: type, text: str) -> float | None:
    """The value ``text`` stands for as the option's type, or None where it is not one."""
    try:
        value = int(text) if kind is int else float(text)
    except ValueError:
        return None
    if kind is float and (value != value or value in (float("inf"), -float("inf"))):
        return None  # NaN and infinity: refused as numbers, whatever the range says
    if kind is int and not -INT64 <= value < INT64:
        return None
    return value


def numeric_case(option: NumericOption, text: str) -> Case:
    """``option`` set to ``text``: used where documented as usable, else refused in one line naming the flag."""
    value = parse(option.kind, text)
    args = [*option.base]
    if option.flag in args:  # the base sets it already (a training scale or ratio): replace that value
        args[args.index(option.flag) + 1] = text
    else:
        args += [option.flag, text]
    name = f"{' '.join(option.base[:2])} {option.flag} {text!r}"
    if value is not None and option.usable(value):
        return case(name, args, option.usable_status, outputs=option.outputs, message=option.usable_message,
                    stdout=option.stdout)  # fmt: skip
    return case(name, args, 2, message=(option.refusal and option.refusal(value)) or option.flag)


NUMBERS = ("nan", "inf", "-inf", "0", "-1", "1", "2", "0.5", "1.5", "1e300", "-1e300", "5e-324", str(INT64),
           str(10**23), str(INT64 - 1), "abc", "")  # fmt: skip
"""The values the benchmark tries on every numeric option."""


# ---------------------------------------------------------------- output specs

OUTPUT_SPECS = (None, "-", "new.png", "new.jpg", "old.png", "notes.txt", "dir", "dir/", "newdir", "newdir/",
                "deep/er/dir/", "old.png/", "notes.txt/", "out.gif", "/proc/srcli-x.png", "missing/x.png")  # fmt: skip
INPUT_SETS = (("a.png",), ("a.png", "b.png"), ("-",))
FLAG_SETS = ((), ("--overwrite",), ("--skip-existing",), ("--overwrite", "--skip-existing"), ("--json",))
EXTS = (None, "jpg", "webp", "tiff")
WRITABLE = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
EXT_FORMAT = {None: "png", "png": "png", "jpg": "jpeg", "webp": "webp", "tiff": "tiff"}
SUFFIX_FORMAT = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp", ".tif": "tiff", ".tiff": "tiff",
                 ".bmp": "bmp"}  # fmt: skip


def output_case(inputs: tuple[str, ...], spec: str | None, flags: tuple[str, ...], ext: str | None) -> Case:
    """``upscale INPUTS [-o SPEC] FLAGS [--ext EXT] -q`` and what DESIGN §4 and ``plan_jobs`` document for it."""
    args = ["upscale", *inputs, "--model", "x2.safetensors", "-q", *flags]
    if spec is not None:
        args += ["-o", spec]
    if ext is not None:
        args += ["--ext", ext]
    name = f"upscale {' '.join(inputs)} -o {spec} {' '.join(flags)} --ext {ext}"
    stdin = "a.png" if inputs == ("-",) else None
    overwrite, skip, json_output = "--overwrite" in flags, "--skip-existing" in flags, "--json" in flags
    single = len(inputs) == 1
    suffix = f".{ext or 'png'}"

    def refused(message: str) -> Case:
        return case(name, args, 2, message=message, stdin=stdin, stdout="empty")

    if overwrite and skip:
        return refused("contradict")
    if spec == "-" and json_output:
        return refused("--json")
    stdout = "json" if json_output else "empty"
    folder_spec = spec is not None and spec.endswith("/")
    path = Path(spec) if spec not in (None, "-") else None
    exists = {"old.png": "file", "notes.txt": "file", "dir": "dir"}.get(str(path)) if path else None
    if spec == "-":
        if not single:
            return refused("names one file")
        return case(name, args, 0, stdin=stdin, stdout=EXT_FORMAT[ext])
    if path is not None and not folder_spec and path.suffix in WRITABLE and exists != "dir":
        if not single:
            return refused("names one file")
        if ext is not None and EXT_FORMAT[ext] != SUFFIX_FORMAT[path.suffix]:
            return refused("--ext asks for")
        if str(path).startswith(("/proc/", "missing/")):
            message = "does not exist" if str(path).startswith("missing/") else "cannot write"
            return case(name, args, 2, message=message, stdin=stdin, stdout=stdout)
        if exists and not overwrite:
            if skip:
                return case(name, args, 0, stdin=stdin, stdout=stdout)  # skipped: nothing changes
            return case(name, args, 2, message="exists", stdin=stdin, stdout=stdout)
        return case(name, args, 0, outputs=(str(path),), stdin=stdin, stdout=stdout)
    if exists == "file":
        return refused("is a file" if (folder_spec or not single) else "neither a folder nor an image")
    if path is not None and not folder_spec and exists is None and path.suffix == ".gif":
        return refused("cannot write .gif")
    if inputs == ("-",):
        return refused("reading stdin needs -o")
    folder = "" if path is None else str(path).rstrip("/") + "/"
    outputs = tuple(f"{folder}{Path(name).stem}_x2{suffix}" for name in inputs)
    return case(name, args, 0, outputs=outputs, stdout=stdout)


# ---------------------------------------------------------------- corrupted checkpoints

CORRUPTIONS = ("flip", "truncate", "nan", "inf", "huge", "shape", "extra", "missing", "pickle", "text", "random",
               "empty", "zip", "header")  # fmt: skip


def _tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata() or {})
    return load_file(str(path)), metadata


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch PAYLOAD_RAN",))


def corrupt(folder: Path, kind: str, position: float) -> str:
    """Write a corrupted copy of ``x2.safetensors`` into ``folder``; returns its name.

    ``position`` in [0, 1) chooses the byte, length, tensor or element the corruption hits.
    """
    from safetensors.torch import save_file

    source = folder / "x2.safetensors"
    data = source.read_bytes()
    tensors, metadata = _tensors(source)
    names = sorted(tensors)
    name = names[int(position * len(names))]
    target = folder / ("bad.pth" if kind in ("pickle", "text", "zip") else "bad.safetensors")
    if kind == "flip":
        index = int(position * len(data) * 8)
        damaged = bytearray(data)
        damaged[index // 8] ^= 1 << (index % 8)
        target.write_bytes(bytes(damaged))
    elif kind == "truncate":
        target.write_bytes(data[: int(position * len(data))])
    elif kind in ("nan", "inf", "huge"):
        values = tensors[name].clone()
        flat = values.view(-1)
        flat[int(position * flat.numel())] = {"nan": float("nan"), "inf": float("inf"), "huge": 3e38}[kind]
        save_file({**tensors, name: values}, str(target), metadata=metadata)
    elif kind == "shape":
        shape = list(tensors[name].shape)
        shape[0] += 1
        save_file({**tensors, name: torch.zeros(shape)}, str(target), metadata=metadata)
    elif kind == "extra":
        save_file({**tensors, "unexpected.weight": torch.zeros(3)}, str(target), metadata=metadata)
    elif kind == "missing":
        save_file({k: v for k, v in tensors.items() if k != name}, str(target), metadata=metadata)
    elif kind == "pickle":
        target.write_bytes(pickle.dumps({"params": _Payload()}, protocol=2 + int(position * 3)))
    elif kind == "text":
        target.write_text("this is a text file named .pth\n")
    elif kind == "random":
        generator = torch.Generator().manual_seed(int(position * 1e9))
        target.write_bytes(bytes(torch.randint(0, 256, (4096,), generator=generator, dtype=torch.uint8).tolist()))
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "zip":  # a well-formed torch.save zip: the positive control, it must load
        torch.save({"params": tensors}, target)
    elif kind == "header":  # a header that claims more data than the file has
        header = json.dumps({name: {"dtype": "F32", "shape": [1 << 30], "data_offsets": [0, 4 << 30]}}).encode()
        target.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 64)
    return target.name


def checkpoint_case(kind: str, position: float) -> Case:
    """``upscale a.png --model BAD`` for one corruption: refused in one line, the payload never run.

    A flipped byte may land where it changes nothing that matters (a low mantissa bit): then the
    upscale succeeds, or the network's output is refused as a failed file (exit 2, the only file); either
    is honest.
    So for a huge but finite weight.
    """
    name = "bad.pth" if kind in ("pickle", "text", "zip") else "bad.safetensors"
    args = ["upscale", "a.png", "--model", name, "-o", "out.png", "-q"]
    title = f"checkpoint {kind} at {position:.3f}"

    def setup(folder: Path) -> None:
        corrupt(folder, kind, position)

    if kind == "zip":
        return case(title, args, 0, outputs=("out.png",), setup=setup)
    if kind == "flip":
        return case(title, args, {0, 1, 2}, outputs=("out.png",), setup=setup)
    if kind == "huge":  # finite, so loadable: the output is refused where it overflows (a failed file), else used
        return case(title, args, {0, 2}, outputs=("out.png",), setup=setup)
    return case(title, args, 2, setup=setup)


# ---------------------------------------------------------------- the cases of issue 28


def _flip_shipped(folder: Path) -> None:
    from srcli.checkpoints.manifest import weights_dir

    shutil.copytree(weights_dir(), folder / "weights")
    path = folder / "weights" / "compact-x2.safetensors"
    data = bytearray(path.read_bytes())
    data[8 + int.from_bytes(data[:8], "little") + 1000] ^= 0x01
    path.write_bytes(bytes(data))


def _copy_shipped(folder: Path) -> None:
    from srcli.checkpoints.manifest import weights_dir

    shutil.copytree(weights_dir(), folder / "weights")


def _nan_model(folder: Path) -> None:
    tensors, metadata = _tensors(folder / "x2.safetensors")
    from safetensors.torch import save_file

    name = sorted(tensors)[0]
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] = float("nan")
    save_file(tensors, str(folder / "nan.safetensors"), metadata=metadata)


def _collision(folder: Path) -> None:
    for sub in ("s1", "s2"):
        (folder / sub).mkdir()
        shutil.copyfile(folder / "a.png", folder / sub / "x.png")


def _many(folder: Path) -> None:
    (folder / "many").mkdir()
    for index in range(60):
        shutil.copyfile(folder / ("a.png" if index % 2 else "b.png"), folder / "many" / f"i{index:02d}.png")


def _every_written_file_has_its_record(folder: Path, outcome: Outcome) -> str | None:
    written = sorted(p.name for p in (folder / "out").glob("*")) if (folder / "out").is_dir() else []
    records = [json.loads(line) for line in outcome.stdout.decode().splitlines()]
    recorded = sorted(Path(r["output"]).name for r in records if r.get("output"))
    if written != recorded:
        return f"{len(written)} files on disk, {len(recorded)} records"
    if [p for p in (folder / "out").glob(".*")] if (folder / "out").is_dir() else []:
        return "a temporary file was left"
    return None


def _passed_is_null_without_threshold(folder: Path, outcome: Outcome) -> str | None:
    record = json.loads(outcome.stdout)
    if "min_psnr_db" not in record or record["passed"] is not None or record["min_psnr_db"] is not None:
        return f"passed={record.get('passed')}, min_psnr_db={record.get('min_psnr_db', 'absent')} without --min-psnr"
    return None


def _old_is_untouched(folder: Path, outcome: Outcome) -> str | None:
    return None if (folder / "old.png").read_bytes() == (folder / "a.png").read_bytes() else "old.png changed"


def _interrupted_batch(folder: Path, outcome: Outcome) -> str | None:
    problem = _every_written_file_has_its_record(folder, outcome)
    if problem:
        return problem
    line = outcome.stderr_lines[0]
    return None if "stopped" in line else f"the interrupted line does not say where it stopped: {line}"


def issue_cases() -> list[Case]:
    """Every case of issue 28 (on main at 1098978) and of issue 39, as the command lines that showed it."""
    return issue_28_cases() + issue_39_cases()


def _empty_png_folder(folder: Path) -> None:
    (folder / "hollow").mkdir()
    (folder / "hollow" / "empty.png").write_bytes(b"")


def _empty_png(folder: Path) -> None:
    (folder / "empty.png").write_bytes(b"")


def _silent(folder: Path, outcome: Outcome) -> str | None:
    return f"-q left {len(outcome.stderr_lines)} line(s) on stderr" if outcome.stderr.strip() else None


QUIET_AND_JSON = {
    "check": ["check", "sr.png", "lr.png"],
    "cs sample": ["cs", "sample", "a.png", "--ratio", "0.1", "-o", "s.safetensors"],
    "cs reconstruct": ["cs", "reconstruct", "m.safetensors", "-o", "out.png"],
    "degrade": ["degrade", "a.png", "--scale", "2", "-o", "small.png"],
    "bench": ["bench", "--data", "bench", "--model", "x2.safetensors"],
    "project": ["project", "sr.png", "lr.png", "-o", "p.png"],
}
"""A command line of each command that gained -q and --json in issue 39, and what it writes."""
WRITES = {"cs sample": ("s.safetensors",), "cs reconstruct": ("out.png",), "degrade": ("small.png",),
          "project": ("p.png",)}  # fmt: skip


def _quiet_and_json_cases() -> list[Case]:
    cases = []
    for name, args in QUIET_AND_JSON.items():
        outputs = WRITES.get(name, ())
        cases.append(case(f"{name} -q", [*args, "-q"], 0, outputs=outputs, stdout="empty", check=_silent))
        cases.append(case(f"{name} --json", [*args, "--json"], 0, outputs=outputs, stdout="json", check=_silent))
    return cases


LONG_NAME = "x" * 300
"""A file name longer than any file system allows (255 bytes)."""


def issue_39_cases() -> list[Case]:
    """What a new user tripped over in issue 39: every command under upscale's contract."""
    bench = ["bench", "--model", "x2.safetensors", "--json"]
    return [
        case("models list --json | head -1", ["models", "list", "--json"], 141, message="broken pipe",
             closed_stdout=True),
        case("check --json | head -1", ["check", "sr.png", "lr.png", "--json"], 141, message="broken pipe",
             closed_stdout=True),
        case("check a file name too long", ["check", LONG_NAME, "lr.png"], 2, message="too long"),
        case("upscale -o a file name too long", ["upscale", "a.png", "--model", "x2.safetensors", "-o",
                                                 f"{LONG_NAME}.png", "-q"], 2, message="too long"),
        case("project -o a file name too long", ["project", "sr.png", "lr.png", "-o", f"{LONG_NAME}.png", "-q"], 2,
             message="too long"),
        case("bench --data a missing folder", [*bench, "--data", "nonexistent"], 2, message="no such folder",
             stdout="empty"),
        case("bench --data an empty folder", [*bench, "--data", "dir"], 2, message="no images", stdout="empty"),
        case("bench --data a folder holding an empty .png", [*bench, "--data", "hollow"], 2, message="empty file",
             stdout="empty", setup=_empty_png_folder),
        case("bench --data a file", [*bench, "--data", "a.png"], 2, message="not a folder", stdout="empty"),
        case("upscale an empty .png -o x.png", ["upscale", "empty.png", "--model", "x2.safetensors", "-o", "x.png"],
             2, message="empty file", setup=_empty_png),
        case("colorize an empty .png -o x.png", ["colorize", "empty.png", "-o", "x.png"], 2, message="empty file",
             setup=_empty_png),
        case("bench --data good, then missing", [*bench, "--data", "bench", "--data", "nonexistent"], 2,
             message="no such folder", stdout="empty"),
        case("degrade -o - --json", ["degrade", "a.png", "--scale", "2", "-o", "-", "--json"], 2, message="--json",
             stdout="empty"),
        *_quiet_and_json_cases(),
        case("cs sample --ratio 0.3", ["cs", "sample", "a.png", "--ratio", "0.3", "-o", "s.st"], 2,
             message="shipped: 0.1, 0.25, 0.5"),
        case("cs sample --ratio 0.3 --no-model-check", ["cs", "sample", "a.png", "--ratio", "0.3", "-o", "s.st",
                                                       "--no-model-check"], 0, outputs=("s.st",)),
        case("cs sample --model for another ratio", ["cs", "sample", "a.png", "--ratio", "0.25", "--model", "cs-0.1",
                                                    "-o", "s.st"], 2, message="reconstructs ratio 0.1"),
        case("upscale --quality for a PNG", ["upscale", "a.png", "--model", "x2.safetensors", "-o", "x.png",
                                            "--quality", "80"], 2, message="--quality"),
        case("colorize --quality, no --ext", ["colorize", "g.png", "--quality", "80"], 2, message="--quality"),
        case("upscale -o - --ext jpg --quality 30", ["upscale", "a.png", "--model", "x2.safetensors", "-o", "-",
                                                    "--ext", "jpg", "--quality", "30"], 0, stdout="jpeg"),
    ]  # fmt: skip


def issue_28_cases() -> list[Case]:
    """Every case of issue 28 (on main at 1098978), as the command lines that showed it."""
    up = ["upscale", "a.png", "--model", "x2.safetensors"]
    return [
        case("NaN in a checkpoint's weights", ["upscale", "a.png", "--model", "nan.safetensors", "-q"], 2,
             message="NaN or infinite", setup=_nan_model),
        case("colorize --temperature nan", ["colorize", "g.png", "--temperature", "nan", "-q"], 2,
             message="--temperature"),
        case("colorize --saturation nan", ["colorize", "g.png", "--saturation", "nan", "-q"], 2,
             message="--saturation"),
        case("colorize --saturation inf", ["colorize", "g.png", "--saturation", "inf", "-q"], 2,
             message="--saturation"),
        case("a new file is 0644 under umask 022", [*up, "-o", "out.png", "-q"], 0, outputs=("out.png",)),
        case("--overwrite keeps 0644", [*up, "-o", "old.png", "--overwrite", "-q"], 0, outputs=("old.png",)),
        case("a .pth pickle with a payload", ["upscale", "a.png", "--model", "bad.pth", "-q"], 2,
             message="not a weights-only", setup=lambda f: corrupt(f, "pickle", 0.5)),
        case("a text file named .pth", ["upscale", "a.png", "--model", "bad.pth", "-q"], 2,
             message="not a weights-only", setup=lambda f: corrupt(f, "text", 0.5)),
        case("-o an existing file, two inputs (upscale)", ["upscale", "a.png", "b.png", "-o", "notes.txt", "-q"], 2,
             message="is a file"),
        case("-o an existing file, two inputs (colorize)", ["colorize", "a.png", "b.png", "-o", "notes.txt", "-q"],
             2, message="is a file"),
        case("-o - --json", [*up, "-o", "-", "--json"], 2, message="--json", stdout="empty"),
        case("-o - with a failing input", ["upscale", "notes.txt", "--model", "x2.safetensors", "-o", "-"], 2,
             message="notes.txt", stdout="empty"),
        case("-o - --ext jpg", [*up, "-o", "-", "--ext", "jpg"], 0, stdout="jpeg"),
        case("-o - --ext webp", [*up, "-o", "-", "--ext", "webp"], 0, stdout="webp"),
        case("-o - --ext tiff", [*up, "-o", "-", "--ext", "tiff"], 0, stdout="tiff"),
        case("Ctrl-C in a batch", ["upscale", "many", "--model", "x2.safetensors", "-o", "out", "--json", "-q"], 130,
             interrupt_when="out/i03_x2.png", setup=_many, check=_interrupted_batch),
        case("-o out.gif", [*up, "-o", "out.gif", "-q"], 2, message=".gif"),
        case("-o file.png/ --overwrite", [*up, "-o", "old.png/", "--overwrite", "-q"], 2, message="is a file",
             check=_old_is_untouched),
        case("-o /proc/x.png", [*up, "-o", "/proc/srcli-x.png", "-q"], 2, message="cannot write ("),
        case("a refused name collision", ["upscale", "s1/x.png", "s2/x.png", "--model", "x2.safetensors",
                                          "-o", "out", "-q"], 2,
             message="would both be written", setup=_collision),
        case("--overwrite --skip-existing", [*up, "--overwrite", "--skip-existing", "-q"], 2, message="contradict"),
        case("check without --min-psnr", ["check", "sr.png", "lr.png", "--json"], 0, stdout="json",
             check=_passed_is_null_without_threshold),
        case("check below --min-psnr", ["check", "noisy_sr.png", "lr.png", "--min-psnr", "60", "--json"], 1,
             message="below --min-psnr", stdout="json"),
        case("--seed 10**23", ["cs", "sample", "a.png", "--ratio", "0.1", "--seed", str(10**23), "-o", "s.st"], 2,
             message="--seed"),
        case("check RGBA SR against RGB LR", ["check", "rgba_sr.png", "lr.png"], 2, message="one kind"),
        case("a flipped byte in a shipped checkpoint", ["upscale", "a.png", "--scale", "2", "-q"], 2,
             message="does not match its sha256", weights=True, setup=_flip_shipped),
        case("the shipped checkpoint unchanged", ["upscale", "a.png", "--scale", "2", "-o", "out.png", "-q"], 0,
             outputs=("out.png",), weights=True, setup=_copy_shipped),
        case("no hard links: a new file", [*up, "-o", "out.png", "-q"], 0, outputs=("out.png",), no_hard_links=True),
        case("no hard links: never clobbers", [*up, "-o", "old.png", "-q"], 2, message="exists", no_hard_links=True,
             check=_old_is_untouched),
    ]  # fmt: skip


# ---------------------------------------------------------------- every option of every command (issue 39)


@dataclass(frozen=True)
class Parameter:
    """One parameter of a command of srcli's Typer app: ``flag`` (``--tile``; a positional's name for an
    argument), its annotation's ``kind`` (int, float, bool, str, Path, an Enum) and whether it repeats."""

    command: tuple[str, ...]
    flag: str
    kind: type
    positional: bool
    multiple: bool


def app_parameters() -> list[Parameter]:
    """Every parameter of every command, read from the app itself: a new option is in the grid unasked."""
    import typing
    from enum import Enum

    import typer

    from srcli.cli import app

    root = typer.main.get_command(app)
    context_type = type(typer.Context(root))
    found: list[Parameter] = []

    def walk(command, path: tuple[str, ...], context) -> None:
        if hasattr(command, "list_commands"):
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                walk(sub, (*path, name), context_type(sub, parent=context))
            return
        for param in command.params:
            annotation = param.type_descriptor.annotation
            multiple = typing.get_origin(annotation) is list or bool(getattr(param, "multiple", False))
            while typing.get_args(annotation):  # list[str], Path | None: the element type
                annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
            if param.name == "help" or getattr(param, "is_eager", False):
                continue
            positional = type(param).__name__ == "TyperArgument"
            flag = param.name if positional else max(param.opts, key=len)
            kind = annotation if isinstance(annotation, type) else str
            kind = kind if kind in (int, float, bool, str) or issubclass(kind, Enum) else str
            found.append(Parameter(path, flag, kind, positional, multiple))

    walk(root, (), typer.Context(root))
    return found


IMAGE = "{image}"
"""Where a base command line takes an input image: each of :data:`IMAGE_FILES` in turn, ``a.png`` otherwise."""
BASES: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...], str | None]] = {
    ("degrade",): (("degrade", IMAGE, "--scale", "2", "-o", "small.png", "-q"), ("small.png",), None),
    ("check",): (("check", "sr.png", IMAGE, "--json"), (), "json"),
    ("project",): (("project", "sr.png", IMAGE, "-o", "p.png", "-q"), ("p.png",), None),
    ("upscale",): (("upscale", IMAGE, "--model", "x2.safetensors", "-o", "out.png", "-q"), ("out.png",), None),
    ("deblur",): (("deblur", IMAGE, "--kernel", "motion:5,30", "--model", "k.safetensors", "-o", "out.png", "-q"),
                  ("out.png",), None),
    ("colorize",): (("colorize", IMAGE, "-o", "out.png", "-q"), ("out.png",), None),
    ("bench",): (("bench", "--data", "bench", "--model", "x2.safetensors", "--json"), (), "json"),
    ("train", "sr"): ((*TRAIN["sr"],), (), None),
    ("train", "cs"): ((*TRAIN["cs"],), (), None),
    ("train", "colorize"): ((*TRAIN["colorize"],), (), None),
    ("train", "gan"): (("train", "gan", "--scale", "2", "--data", "missing", "--out", "w.safetensors"), (), None),
    ("train", "naturalness"): (("train", "naturalness", "--scale", "2", "--data", "missing", "--out",
                                "w.safetensors"), (), None),
    ("train", "usrnet"): (("train", "usrnet", "--data", "missing", "--out", "w.safetensors"), (), None),
    ("cs", "sample"): (("cs", "sample", IMAGE, "--ratio", "0.1", "-o", "s.safetensors", "--json",
                        "--no-model-check"), ("s.safetensors",), "json"),
    ("cs", "reconstruct"): (("cs", "reconstruct", "m.safetensors", "-o", "out.png", "--json"), ("out.png",), "json"),
    ("models", "list"): (("models", "list", "--json"), (), "json"),
    ("models", "info"): (("models", "info", "compact-x2"), (), "json"),
    ("models", "pull"): (("models", "pull", "compact-x2"), (), None),
    ("models", "verify"): (("models", "verify"), (), None),
    ("models", "export"): (("models", "export", "compact-x2", "exported"), ("exported",), None),
}  # fmt: skip
"""For each command: a command line that succeeds (training: that stops at its missing data, exit 2), the
files it writes, and what its stdout holds. Every command of the app must have one (a test holds it)."""
EXTRA_BASES = [
    (("degrade", "a.png", "--scale", "2", "--jpeg", "40", "-o", "small.jpg", "-q"), ("small.jpg",), None,
     ("--jpeg", "--subsampling", "--noise", "--seed")),
    (("upscale", "a.png", "--model", "x2.safetensors", "--degradation", "motion:3,0", "-o", "out.png", "-q"),
     ("out.png",), None, ("--noise", "--degradation", "--correction")),
]  # fmt: skip
"""More base lines for the options whose meaning depends on another (--subsampling under --jpeg, a kernel's
--noise), with the options tried on them."""
IMAGE_FILES = ("a.png", "g.png", "rgba.png", "deep.png", "palette.png", "one.png", "photo.jpg", "gray.jpg",
               "cmyk.jpg", "progressive.jpg", "truncated.jpg", "corrupt.jpg", "truncated.png", "a.webp", "a.tiff",
               "empty.png", "notes.txt", "dir", "missing.png")  # fmt: skip
"""What a user passes where an image goes: every kind srcli reads, JPEGs whole, CMYK, cut short or damaged."""
STRINGS = ("", "bogus", "nan", "-1", "1,2,3", "notes.txt", "dir", "missing/x", "a.png", "x" * 300)
"""What a user types for a text option: empty, unknown, a number, a list, a path of each kind, a long name."""
MODEL_NAMES = ("compact-x2", "usrnet-tiny", "colornet", "cs-0.1", "bogus", "", "x2.safetensors", "notes.txt",
               "dir", "../weights/compact-x2")  # fmt: skip
OUTPUT_NAMES = ("/proc/srcli-x", "dir", "notes.txt", "newdir", "missing/deep/x")
DIRECT_OUTPUT_OPTIONS = ("--output", "--out", "--run-dir", "--heatmap", "--suffix", "--ext", "folder")
"""Options that name what is written: a success may write where the value says."""


def make_odd_inputs(folder: Path) -> None:
    """The files of :data:`IMAGE_FILES` beyond the first assets, and the tiny USRNet ``k.safetensors``."""
    from srcli.archs.usrnet import USRNet
    from srcli.checkpoints.load import save_checkpoint

    generator = torch.Generator().manual_seed(39)
    photo = _smooth(generator, 3, 24, 20)
    array = photo.permute(1, 2, 0).numpy()
    Image.fromarray(array).save(folder / "photo.jpg", quality=80)
    Image.fromarray(array).convert("L").save(folder / "gray.jpg", quality=80)
    Image.fromarray(array).convert("CMYK").save(folder / "cmyk.jpg", quality=80)
    Image.fromarray(array).save(folder / "progressive.jpg", quality=80, progressive=True)
    data = (folder / "photo.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) * 2 // 3])
    damaged = bytearray(data)
    for index in range(len(damaged) // 2, len(damaged) - 2, 7):
        damaged[index] ^= 0x5A
    (folder / "corrupt.jpg").write_bytes(bytes(damaged))
    Image.fromarray(array).save(folder / "a.webp")
    Image.fromarray(array).save(folder / "a.tiff")
    Image.fromarray(array).convert("P").save(folder / "palette.png")
    Image.fromarray(array[:1, :1]).save(folder / "one.png")
    Image.fromarray((photo[0].int() * 257).numpy().astype("uint16")).save(folder / "deep.png")
    Image.fromarray(array).convert("RGBA").save(folder / "rgba.png")
    png = (folder / "a.png").read_bytes()
    (folder / "truncated.png").write_bytes(png[: len(png) // 2])
    (folder / "empty.png").write_bytes(b"")
    torch.manual_seed(0)
    save_checkpoint(folder / "k.safetensors", USRNet(n_iter=2, h_nc=8, nc=(4, 8, 8, 8), nb=1),
                    {"task": "kernel", "scales": "1,2,3,4"})  # fmt: skip


def _values(parameter: Parameter) -> tuple[str | None, ...]:
    """What the grid tries for ``parameter``: ``None`` for a flag given alone."""
    from enum import Enum

    if parameter.kind is bool:
        return (None,)
    if parameter.kind in (int, float):
        return NUMBERS
    if issubclass(parameter.kind, Enum):
        return (*(member.value for member in parameter.kind), "bogus", "")
    if parameter.flag in ("--model", "--teacher", "--naturalness", "--init", "name"):
        return MODEL_NAMES
    if parameter.flag in DIRECT_OUTPUT_OPTIONS:
        return (*STRINGS, *OUTPUT_NAMES)
    return STRINGS


def _covered_by_numeric(parameter: Parameter) -> bool:
    return any(option.flag == parameter.flag and tuple(option.base[: len(parameter.command)]) == parameter.command
               for option in NUMERIC)  # fmt: skip


def _set(args: list[str], flag: str, value: str | None, positional_index: int | None) -> list[str]:
    """``args`` with ``flag`` given ``value``: a positional replaced in place, an option appended (Click keeps
    the last of a repeated option; a repeatable one gains this value)."""
    if positional_index is not None:
        return [*args[:positional_index], value or "", *args[positional_index + 1 :]]
    return [*args, flag] if value is None else [*args, flag, value]


def option_cases() -> list[tuple[str, Case]]:
    """``(command, case)``: every parameter of every command (from :func:`app_parameters`) × the values of its
    kind, on that command's base lines, held to the contract: exit 0 or 2 (a training base stops at its missing
    data: 2), one line when refused, naming the option where the value is not a number of its kind, nothing
    left behind; where the value names an output, a success may write there."""
    from enum import Enum

    cases: list[tuple[str, Case]] = []
    bases = [(command, (*base, None)) for command, base in BASES.items()]
    bases += [(tuple(extra[0][:1]), extra) for extra in EXTRA_BASES]
    parameters = app_parameters()
    for command, (args, outputs, stdout, only) in bases:
        name_of_command = " ".join(command)
        if only is None:
            line = [a if a != IMAGE else "a.png" for a in args]
            cases.append((name_of_command, case(f"{name_of_command} as it stands", line, 2 if command[0] == "train"
                                                else 0, outputs=outputs, stdout=stdout, any_outputs=True)))  # fmt: skip
        for parameter in (p for p in parameters if p.command == command):
            if (only is None and _covered_by_numeric(parameter)) or (only is not None and parameter.flag not in only):
                continue
            index = None
            if parameter.positional:
                slots = [i for i, a in enumerate(args) if i >= len(command) and not a.startswith("-")
                         and (i == 0 or not args[i - 1].startswith("-"))]  # fmt: skip
                order = [p for p in parameters if p.command == command and p.positional]
                if order.index(parameter) >= len(slots):
                    continue
                index = slots[order.index(parameter)]
            values = IMAGE_FILES if index is not None and args[index] == IMAGE else _values(parameter)
            for value in values:
                line = [a if a != IMAGE else "a.png" for a in _set(list(args), parameter.flag, value, index)]
                training = command[0] == "train"
                status: int | set[int] = 2 if training else {0, 2}
                message = None
                if parameter.kind in (int, float) and value is not None and parse(parameter.kind, value) is None:
                    status, message = 2, parameter.flag
                if isinstance(parameter.kind, type) and issubclass(parameter.kind, Enum) and value in ("bogus", ""):
                    status, message = 2, parameter.flag
                title = f"{name_of_command} {parameter.flag} {value!r}" + (" (jpeg)" if "--jpeg" in args else "")
                free = parameter.flag in DIRECT_OUTPUT_OPTIONS
                written = () if free else outputs
                cases.append((name_of_command, case(title, line, status, outputs=written, message=message,
                                                    stdout=stdout if stdout == "json" else None,
                                                    any_outputs=free)))  # fmt: skip
    return cases
