"""The ``srcli`` command line: parses, calls, reports. No math here."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from srcli import __version__, report
from srcli.consistency import check_images
from srcli.degrade import degrade_image
from srcli.imageio import ImageError
from srcli.models import ModelError
from srcli.pipeline import DEFAULT_OVERLAP

app = typer.Typer(
    help="Super-resolution, colorization and compressed sensing whose saved files are exactly consistent "
    "with their input. Results go to stdout (--json), progress and tables to stderr.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts use [default: ...] literally
    add_completion=False,
)
train_app = typer.Typer(
    help="Train the networks srcli ships (PD inside the forward pass).", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(train_app, name="train")
cs_app = typer.Typer(
    help="Block compressed sensing: sample an image into measurements, reconstruct it with a network and PD.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(cs_app, name="cs")
models_app = typer.Typer(
    help="The models srcli knows: shipped, cached from the Hub, or remote.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(models_app, name="models")

EXIT_BAD_INPUT = 2


class DegradeMethod(str, Enum):
    box = "box"
    bicubic = "bicubic"


class CheckMethod(str, Enum):
    auto = "auto"
    box = "box"
    bicubic = "bicubic"
    bilinear = "bilinear"
    lanczos = "lanczos"


state = {"debug": False}
T = TypeVar("T")

Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")]
Json = Annotated[bool, typer.Option("--json", help="Write one JSON object per result to stdout.")]


def guarded(action: Callable[[], T]) -> T:
    """The one error boundary: a known error is one line on stderr and exit code 2."""
    try:
        return action()
    except (ImageError, ModelError, ValueError) as error:
        if state["debug"]:
            raise
        report.error(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None


def fail(message: str) -> NoReturn:
    """Report a bad-input error in one line and exit 2."""
    report.error(message)
    raise typer.Exit(EXIT_BAD_INPUT)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"srcli {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    state["debug"] = debug


@app.command()
def degrade(
    hr: Annotated[Path, typer.Argument(help="High-resolution image.")],
    scale: Annotated[int, typer.Option("--scale", "-s", min=2, max=16, help="Downscaling factor.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the LR image.")],
    downsampler: Annotated[
        DegradeMethod, typer.Option(help="box (s×s mean, what PD assumes) or bicubic (Pillow).")
    ] = DegradeMethod.box,
    overwrite: Overwrite = False,
) -> None:
    """Make the LR image of HR: crops HR to a multiple of the scale (and says so), keeps depth,
    alpha and ICC profile."""
    result = guarded(lambda: degrade_image(hr, scale, output, downsampler.value, overwrite))
    if result.cropped:
        report.note(
            f"cropped {hr} from {result.hr_size[0]}×{result.hr_size[1]} to a multiple of {scale}: "
            f"{result.lr_size[0] * scale}×{result.lr_size[1] * scale}"
        )
    report.note(f"wrote {output} ({result.lr_size[0]}×{result.lr_size[1]}, {downsampler.value} ×{scale})")


@app.command()
def check(
    sr: Annotated[Path, typer.Argument(help="The super-resolved image (made by any tool).")],
    lr: Annotated[Path, typer.Argument(help="The low-resolution image it was made from.")],
    scale: Annotated[str, typer.Option(help="Integer factor, or auto to infer it from the sizes.")] = "auto",
    downsampler: Annotated[
        CheckMethod, typer.Option(help="auto tries every one and names the best.")
    ] = CheckMethod.auto,
    heatmap: Annotated[Path | None, typer.Option(help="Write a per-LR-pixel error map (PNG) here.")] = None,
    min_psnr: Annotated[float | None, typer.Option(help="Exit 1 when the consistency PSNR is below this (dB).")] = None,
    json_output: Json = False,
    overwrite: Overwrite = False,
) -> None:
    """How consistent SR is with LR: float64 PSNR of the downsampled SR against LR, and whether
    it matches byte for byte. Exit 0 when consistent (at or above --min-psnr), 1 below, 2 on bad input."""
    outcome = guarded(lambda: check_images(sr, lr, scale, downsampler.value, heatmap, overwrite))
    chosen = outcome.chosen
    passed = min_psnr is None or chosen.exact or chosen.psnr_db >= min_psnr
    if json_output:
        record: dict[str, Any] = {
            "sr": str(sr),
            "lr": str(lr),
            "scale": outcome.scale,
            "cropped": outcome.cropped,
            "downsampler": chosen.method,
            **chosen.as_json(),
            "passed": passed,
            "downsamplers": {r.method: r.as_json() for r in outcome.results},
        }
        report.print_json(record)
    else:
        rows = [
            [
                r.method + (" ◀" if r is chosen else ""),
                report.format_db(r.psnr_db),
                "yes" if r.exact else "no",
                f"{r.max_abs_error:.3f}",
            ]
            for r in outcome.results
        ]
        report.print_table(
            f"{sr} vs {lr} (×{outcome.scale})", ["downsampler", "consistency PSNR", "byte-exact", "max |error|"], rows
        )
        if outcome.cropped:
            report.note(f"SR cropped to {outcome.cropped[0]}×{outcome.cropped[1]} (×{outcome.scale} of LR)")
        if heatmap:
            report.note(f"wrote {heatmap} (error per LR pixel, {chosen.method}; white ≥ 4 levels)")
    if not passed:
        raise typer.Exit(1)


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class Ext(str, Enum):
    png = "png"
    jpg = "jpg"
    webp = "webp"
    tiff = "tiff"
    bmp = "bmp"


Scale = Annotated[
    int | None,
    typer.Option(
        "--scale",
        "-s",
        help="Upscaling factor: 2, 4 or 8 [default: the --model's own factor, else 4].",
        show_default=False,
    ),
]
Inputs = Annotated[list[str], typer.Argument(help="Image files, folders, globs, or - for stdin.", show_default=False)]
Output = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", help="Output file (one input), folder, or - for stdout [default: beside each input]."
    ),
]
Model = Annotated[str | None, typer.Option(help="Shipped model name or checkpoint path [default: the shipped one].")]
Tile = Annotated[int | None, typer.Option(help="Tile side in LR pixels; 0 = whole image [default: auto].")]
Overlap = Annotated[int, typer.Option("--tile-overlap", help="Context around each tile, LR pixels.")]
DeviceOption = Annotated[Device, typer.Option(help="Where to run the network.")]
Half = Annotated[bool, typer.Option("--half", help="float16 network on CUDA.")]
NoPd = Annotated[bool, typer.Option("--no-pd", help="Bare network, no projection (ablation; output not consistent).")]
ExtOption = Annotated[Ext, typer.Option(help="Output format (png, lossless webp and tiff stay exact; jpg is lossy).")]
Recursive = Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders; keep the tree under -o.")]
SkipExisting = Annotated[bool, typer.Option("--skip-existing", help="Leave inputs whose output exists.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table on stderr.")]
Ensemble = Annotated[
    bool,
    typer.Option("--ensemble", help="Mean over the 8 flips/transposes of each tile: ~0.1 dB better, 8x slower."),
]


def _run_options(device: Device, tile: int | None, overlap: int, half: bool, no_pd: bool, ensemble: bool = False):
    from srcli.pipeline import RunOptions, resolve_device

    resolved = resolve_device(device.value)
    if half and resolved.type != "cuda":
        raise ValueError("--half needs a CUDA device")
    if overlap < 0 or (tile is not None and tile < 0):
        raise ValueError("--tile and --tile-overlap must not be negative")
    return RunOptions(device=resolved, tile=tile, overlap=overlap, half=half, pd=not no_pd, ensemble=ensemble)


def _run_jobs(jobs: list, work: Callable, skip_existing: bool, json_output: bool, quiet: bool) -> None:
    """Run a batch with progress and a summary (see :func:`srcli.report.run_batch`); exit 1 if any file failed."""
    if report.run_batch(jobs, work, skip_existing, json_output, quiet, debug=state["debug"]):
        raise typer.Exit(1)


@app.command()
def upscale(
    inputs: Inputs,
    scale: Scale = None,
    output: Output = None,
    model: Model = None,
    tile: Tile = None,
    tile_overlap: Overlap = DEFAULT_OVERLAP,
    device: DeviceOption = Device.auto,
    half: Half = False,
    no_pd: NoPd = False,
    ensemble: Ensemble = False,
    suffix: Annotated[str | None, typer.Option(help="Added to each output name [default: _x{scale}].")] = None,
    ext: ExtOption = Ext.png,
    recursive: Recursive = False,
    skip_existing: SkipExisting = False,
    overwrite: Overwrite = False,
    json_output: Json = False,
    quiet: Quiet = False,
) -> None:
    """Upscale images ×2, ×4 or ×8. Every saved file is exactly consistent with its input: its
    box downsample equals the input byte for byte (alpha and 16-bit too). Exit 1 if any file failed."""
    from srcli.batch import plan_jobs
    from srcli.models import sr_stages, total_scale
    from srcli.pipeline import upscale_file

    if scale not in (None, 2, 4, 8):
        fail(f"--scale must be 2, 4 or 8, got {scale}")
    options = guarded(lambda: _run_options(device, tile, tile_overlap, half, no_pd, ensemble))
    stages = guarded(lambda: sr_stages(model, scale))
    scale = total_scale(stages)
    jobs = guarded(
        lambda: plan_jobs(inputs, output, suffix if suffix is not None else f"_x{scale}", ext.value, recursive)
    )
    if len(stages) > 1 and not quiet:
        report.note(f"×{scale} as a cascade: {' → '.join(f'{s.name} (×{s.scale})' for s in stages)}, PD at each stage")
    _run_jobs(
        jobs, lambda job, on_tile: upscale_file(job, stages, options, overwrite, on_tile), skip_existing, json_output,
        quiet or output == "-",
    )  # fmt: skip


class GrayMode(str, Enum):
    mean = "mean"
    bt601 = "bt601"


@app.command()
def colorize(
    inputs: Inputs,
    gray: Annotated[
        GrayMode,
        typer.Option(
            help="What 'gray' means: the channel mean (exact at 8 and 16 bits), or bt601, Pillow's "
            "convert('L') (8-bit), so that any editor turns the output back into the input."
        ),
    ] = GrayMode.mean,
    output: Output = None,
    model: Annotated[str | None, typer.Option(help="Model name or checkpoint path [default: the shipped one].")] = None,
    tile: Annotated[int | None, typer.Option(help="Tile side in pixels; 0 = whole image [default: auto].")] = None,
    temperature: Annotated[
        float | None,
        typer.Option(help="Colour strength: lower is more saturated, 1 is the cautious mean [default: the model's]."),
    ] = None,
    saturation: Annotated[
        float | None, typer.Option(help="Chroma scale: 0 is gray, 1 the network's full colour [default: the model's].")
    ] = None,
    tile_overlap: Annotated[int, typer.Option("--tile-overlap", help="Context around each tile, pixels.")] = 48,
    device: DeviceOption = Device.auto,
    half: Half = False,
    no_pd: NoPd = False,
    suffix: Annotated[str, typer.Option(help="Added to each output name.")] = "_color",
    ext: ExtOption = Ext.png,
    recursive: Recursive = False,
    skip_existing: SkipExisting = False,
    overwrite: Overwrite = False,
    json_output: Json = False,
    quiet: Quiet = False,
) -> None:
    """Colorize gray images. The saved file turns back into the input gray exactly (its channel
    mean, or with --gray bt601 Pillow's convert('L')). Colour input is made gray first; alpha is
    kept. Reports consistency and colourfulness per file. Exit 1 if any file failed."""
    from srcli.batch import plan_jobs
    from srcli.colorize import colorize_file
    from srcli.models import colorize_model

    if temperature is not None and temperature <= 0:
        fail(f"--temperature must be positive, got {temperature}")
    if saturation is not None and saturation < 0:
        fail(f"--saturation must not be negative, got {saturation}")
    options = guarded(lambda: _run_options(device, tile, tile_overlap, half, no_pd))
    net, name = guarded(lambda: colorize_model(model))
    if temperature is not None:
        net.temperature.fill_(temperature)
    if saturation is not None:
        net.saturation.fill_(saturation)
    jobs = guarded(lambda: plan_jobs(inputs, output, suffix, ext.value, recursive))
    _run_jobs(
        jobs, lambda job, on_tile: colorize_file(job, net, name, gray.value, options, overwrite, on_tile),
        skip_existing, json_output, quiet or output == "-",
    )  # fmt: skip


@app.command()
def bench(
    data: Annotated[list[Path], typer.Option("--data", help="Benchmark folder (repeat for several sets).")],
    scale: Scale = None,
    model: Model = None,
    tile: Tile = None,
    tile_overlap: Overlap = DEFAULT_OVERLAP,
    device: DeviceOption = Device.auto,
    half: Half = False,
    no_pd: NoPd = False,
    ensemble: Ensemble = False,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch.")] = None,
    json_output: Json = False,
) -> None:
    """PSNR-Y/SSIM of a model beside bicubic (box LR, protocol of shared/README.md), LR-consistency
    of its saved outputs, time, megapixels per second and peak memory, per folder."""
    import torch

    from srcli.bench import bench_folder, peak_memory_mb
    from srcli.models import sr_stages, total_scale

    if threads:
        torch.set_num_threads(threads)
    options = guarded(lambda: _run_options(device, tile, tile_overlap, half, no_pd, ensemble))
    stages = guarded(lambda: sr_stages(model, scale))
    scale = total_scale(stages)
    name = " → ".join(stage.name for stage in stages)
    results = [guarded(lambda folder=folder: bench_folder(folder, stages, options)) for folder in data]
    if json_output:
        for result in results:
            report.print_json(
                {
                    "model": name,
                    "scale": scale,
                    "pd": not no_pd,
                    "ensemble": ensemble,
                    **result.as_json(),
                    "peak_memory_mb": round(peak_memory_mb(), 1),
                }
            )
        return
    rows = [
        [
            r.name,
            str(r.images),
            f"{r.psnr_y:.2f} / {r.ssim_y:.4f}",
            f"{r.bicubic_psnr_y:.2f} / {r.bicubic_ssim_y:.4f}",
            f"{r.exact}/{r.images}",
            f"{r.seconds:.2f} s",
            f"{r.megapixels_per_second:.2f}",
        ]
        for r in results
    ]
    report.print_table(
        f"{name} ×{scale}{' (no PD)' if no_pd else ''}{' (self-ensemble)' if ensemble else ''}",
        ["set", "images", "PSNR-Y / SSIM", "bicubic", "exact", "time", "MP/s out"],
        rows,
    )
    report.note(f"peak memory {peak_memory_mb():.0f} MiB")


def _entry_json(entry, where: str) -> dict[str, Any]:
    return {
        "name": entry.name,
        "task": entry.task,
        "scale": entry.scale,
        "ratio": entry.ratio,
        "arch": entry.arch,
        "size": entry.size,
        "location": where,
        "default": entry.default,
        "sha256": entry.sha256,
        "metrics": entry.metrics,
    }


SET5_BASELINES = {
    "sr": ("psnr_y", "Y", "bicubic_psnr_y", "bicubic"),
    "cs": ("psnr", "RGB", "linear_psnr", "linear stage"),
    "colorize": ("psnr", "RGB", "gray_copy_psnr", "gray copy"),
}
"""Per task: the Set5 metric, its channels, the baseline's metric and the baseline's name."""


def _set5_summary(task: str, set5: dict[str, Any]) -> str:
    """A model's Set5 PSNR beside its task's baseline, e.g. ``30.59 Y (bicubic 28.43)``; — if unmeasured."""
    key, channels, baseline_key, baseline = SET5_BASELINES.get(task, SET5_BASELINES["sr"])
    if key not in set5:
        return "—"
    return f"{set5[key]:.2f} {channels} ({baseline} {set5[baseline_key]:.2f})"


@models_app.command("list")
def models_list(json_output: Json = False) -> None:
    """Every known model: task, scale (or CS ratio), architecture, size, where it is, and its measured Set5 PSNR."""
    from srcli.hub import location
    from srcli.models import load_manifest

    entries = load_manifest()
    if json_output:
        for entry in entries:
            report.print_json(_entry_json(entry, location(entry)))
        return
    rows = []
    for entry in entries:
        psnr = _set5_summary(entry.task, entry.metrics.get("Set5", {}))
        rows.append(
            [
                entry.name + (" *" if entry.default else ""),
                entry.task,
                f"ratio {entry.ratio}" if entry.task == "cs" else f"×{entry.scale}",
                entry.arch,
                f"{entry.size / 1e6:.2f} MB",
                location(entry),
                psnr,
            ]
        )
    report.print_table(
        "models (* = default)", ["name", "task", "scale / ratio", "arch", "size", "where", "Set5 PSNR"], rows
    )


@models_app.command("info")
def models_info(name: Annotated[str, typer.Argument(help="Model name.")]) -> None:
    """Everything the manifest says of one model, as JSON on stdout."""
    from srcli.hub import location
    from srcli.models import find_entry

    entry = guarded(lambda: find_entry(name))
    report.print_json(
        _entry_json(entry, location(entry))
        | {"training": entry.training, "file": entry.file, "repo": entry.repo, "revision": entry.revision}
    )


@models_app.command("pull")
def models_pull(
    name: Annotated[str, typer.Argument(help="Model name.")],
    repo: Annotated[str | None, typer.Option(help="Hub repository OWNER/NAME [default: the manifest's].")] = None,
    revision: Annotated[str | None, typer.Option(help="Branch, tag or commit [default: the manifest's].")] = None,
) -> None:
    """Download a model into the Hub cache (HF_ENDPOINT, HF_HUB_OFFLINE and HF_HOME are honoured)
    and check its sha256 against the manifest."""
    from srcli.hub import pull
    from srcli.models import find_entry

    entry = guarded(lambda: find_entry(name))
    if entry.shipped and repo is None and revision is None:
        report.note(f"{name} ships with srcli: {entry.shipped_path}")
        return
    path = guarded(lambda: pull(entry, repo, revision))
    report.note(f"{name}: {path} (sha256 verified)")


@models_app.command("verify")
def models_verify() -> None:
    """Re-hash every local model file (shipped and cached) against the manifest; exit 1 on a mismatch."""
    from srcli.hub import cached_path, sha256_of
    from srcli.models import load_manifest

    rows, bad = [], 0
    for entry in load_manifest():
        path = entry.shipped_path if entry.shipped else cached_path(entry)
        if path is None:
            rows.append([entry.name, "remote", "—"])
            continue
        good = sha256_of(path) == entry.sha256
        bad += not good
        rows.append([entry.name, str(path), "ok" if good else "MISMATCH"])
    report.print_table("sha256 of local models", ["name", "file", "sha256"], rows)
    if bad:
        raise typer.Exit(1)


@models_app.command("export")
def models_export(
    name: Annotated[str, typer.Argument(help="Model name.")],
    folder: Annotated[Path, typer.Argument(help="New (or empty) folder to write.")],
) -> None:
    """Write a folder ready to upload to the Hub: safetensors, config.json, and a model card with
    metrics and the training command."""
    from srcli.hub import export_model
    from srcli.models import find_entry, local_path

    entry = guarded(lambda: find_entry(name))
    written = guarded(lambda: export_model(entry, local_path(entry), folder))
    report.note("wrote " + ", ".join(str(path) for path in written))


TrainData = Annotated[Path, typer.Option(help="Folder of training images.")]
TrainOut = Annotated[Path, typer.Option(help="Where to write the weights (.safetensors).")]
TrainVal = Annotated[Path | None, typer.Option(help="Folder of validation images (PSNR every --val-every steps).")]
RunDir = Annotated[
    Path | None, typer.Option(help="Folder for state, log.csv and convergence.png [default: runs/<out stem>].")
]
Steps = Annotated[int, typer.Option(help="Length of the cosine schedule, in steps.")]
Minutes = Annotated[float | None, typer.Option(help="Stop after this many minutes (resume later).")]
StopAt = Annotated[int | None, typer.Option(help="Stop (and checkpoint) at this step; resume later.")]
Init = Annotated[
    Path | None,
    typer.Option(help="Start from these weights (a new schedule) instead of a fresh initialisation."),
]
Batch = Annotated[int, typer.Option(help="Patches per step.")]
LearningRate = Annotated[float, typer.Option(help="Peak learning rate (Adam).")]
Seed = Annotated[int, typer.Option(help="Seed for initialisation and sampling.")]
ValEvery = Annotated[int, typer.Option(help="Validate, log and checkpoint every N steps.")]
Threads = Annotated[int | None, typer.Option(help="CPU threads for torch.")]
Resume = Annotated[bool, typer.Option(help="Continue from the run folder's state.")]
Ema = Annotated[
    float | None,
    typer.Option(
        help="Validate and export an exponential moving average of the weights with this decay (0.999: "
        "about the last 1000 steps). Training itself is unchanged, so it can be added when resuming."
    ),
]


def _training_config(config_class: type[T], parameters: dict[str, Any]) -> T:
    """A training configuration from a command's parameters (those it has a field for);
    ``run_dir`` defaults to ``runs/<out stem>``."""
    names = {field.name for field in dataclasses.fields(config_class)}  # type: ignore[arg-type]
    values = {name: value for name, value in parameters.items() if name in names}
    values["run_dir"] = values.get("run_dir") or Path("runs") / values["out"].stem
    return config_class(**values)


def _echo_row(row: dict[str, str]) -> None:
    """Print one training log row on stderr."""
    report.note(", ".join(f"{key}={value}" for key, value in row.items()))


@train_app.command("sr")
def train_sr_command(
    scale: Annotated[int, typer.Option(help="Upscaling factor.")],
    data: TrainData,
    out: TrainOut,
    val: TrainVal = None,
    run_dir: RunDir = None,
    arch: Annotated[str, typer.Option(help="Architecture.")] = "compact",
    num_feat: Annotated[int, typer.Option(help="Feature channels.")] = 48,
    num_conv: Annotated[int, typer.Option(help="Body convolutions.")] = 16,
    steps: Steps = 20000,
    minutes: Minutes = None,
    stop_at: StopAt = None,
    init: Annotated[
        Path | None,
        typer.Option(
            help="Start from these weights (a new schedule). A compact net of a scale dividing --scale "
            "(x4 for x8) is widened: training starts from its output, nearest-upsampled."
        ),
    ] = None,
    batch: Batch = 16,
    patch: Annotated[int, typer.Option(help="LR patch side in pixels.")] = 32,
    lr: LearningRate = 5e-4,
    pd: Annotated[bool, typer.Option("--pd/--no-pd", help="Train through the PD projection.")] = True,
    seed: Seed = 0,
    val_every: ValEvery = 500,
    ema: Ema = None,
    threads: Threads = None,
    resume: Resume = False,
) -> None:
    """Train a super-resolution network on box-downsampled patches, L1 loss on the PD output."""
    import torch

    from srcli.train import SRTrainConfig, train_sr

    if threads:
        torch.set_num_threads(threads)
    parameters = locals()
    config = guarded(lambda: _training_config(SRTrainConfig, parameters))

    guarded(lambda: train_sr(config, resume=resume, report=_echo_row))


@cs_app.command("sample")
def cs_sample(
    image: Annotated[Path, typer.Argument(help="Image to measure (8 or 16 bits, gray or RGB; alpha is not measured).")],
    ratio: Annotated[float, typer.Option(help="Measurements per pixel: M = round(ratio·1024) per 32×32 block.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Measurement file to write (.safetensors).")],
    seed: Annotated[int, typer.Option(help="Seed of the sensing rows (the shipped models use 0).")] = 0,
    overwrite: Overwrite = False,
    json_output: Json = False,
) -> None:
    """Measure IMAGE: per 32×32 block and channel, M orthonormal random projections, saved as
    float32 with everything reconstruction needs (sides that are not multiples of 32 are padded)."""
    from srcli.cs import sample_file

    if not 0 < ratio <= 1:
        fail(f"--ratio must be in (0, 1], got {ratio}")
    record = guarded(lambda: sample_file(image, output, ratio, seed, overwrite))
    if json_output:
        report.print_json(record)
        return
    if record["alpha_dropped"]:
        report.note(f"{image}: alpha is not measured (only colour)")
    report.note(
        f"wrote {output}: {record['values']} values, {record['measurements_per_block']} per block and channel "
        f"(ratio {ratio}, seed {seed})"
    )


@cs_app.command("reconstruct")
def cs_reconstruct(
    measurements: Annotated[Path, typer.Argument(help="Measurement file from `srcli cs sample`.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Image to write: .png (input's bit depth) or .tiff (float32).")
    ],
    model: Annotated[
        str | None, typer.Option(help="Model name or checkpoint path [default: the shipped one for the ratio].")
    ] = None,
    tile: Annotated[int | None, typer.Option(help="Tile side in pixels (whole blocks); 0 = whole image.")] = None,
    device: DeviceOption = Device.auto,
    half: Half = False,
    no_pd: NoPd = False,
    overwrite: Overwrite = False,
    json_output: Json = False,
) -> None:
    """Reconstruct an image from its measurements: a learned linear estimate per block, a refiner
    network, then PD, which restores the measured part exactly. Reports the measurement-consistency
    PSNR of the float result and of the saved file (rounding to integers costs some)."""
    from srcli.cs import reconstruct_file

    if tile is not None and tile < 0:
        fail("--tile must not be negative")
    options = guarded(lambda: _run_options(device, tile, 0, half, no_pd))
    record = guarded(lambda: reconstruct_file(measurements, output, model, options, overwrite))
    if json_output:
        report.print_json(record)
        return
    report.print_table(
        f"{measurements} → {output}",
        ["model", "size", "time", "consistency (float)", "consistency (saved)"],
        [
            [
                str(record["model"]),
                "×".join(str(v) for v in record["output_size"]),
                f"{record['seconds']:.2f} s",
                report.format_db(record["consistency_psnr_db"]),
                report.format_db(record["saved_consistency_psnr_db"]),
            ]
        ],
    )


@train_app.command("cs")
def train_cs_command(
    ratio: Annotated[float, typer.Option(help="Sampling ratio the network reconstructs.")],
    data: TrainData,
    out: TrainOut,
    val: TrainVal = None,
    run_dir: RunDir = None,
    sensing_seed: Annotated[int, typer.Option(help="Seed of the sensing rows the model is fitted to.")] = 0,
    num_feat: Annotated[int, typer.Option(help="Refiner feature channels.")] = 32,
    num_conv: Annotated[int, typer.Option(help="Refiner body convolutions.")] = 8,
    steps: Steps = 6000,
    minutes: Minutes = None,
    stop_at: StopAt = None,
    init: Init = None,
    batch: Batch = 16,
    patch: Annotated[int, typer.Option(help="Patch side in pixels (a multiple of 32).")] = 96,
    lr: LearningRate = 5e-4,
    pd: Annotated[bool, typer.Option("--pd/--no-pd", help="Train through the PD projection.")] = True,
    seed: Seed = 0,
    val_every: ValEvery = 250,
    ema: Ema = None,
    threads: Threads = None,
    resume: Resume = False,
) -> None:
    """Train a compressed-sensing network: linear stage started at the LMMSE estimate of the
    training blocks, half-resolution refiner, L1 loss on the PD output."""
    import torch

    from srcli.train_cs import CSTrainConfig, train_cs

    if threads:
        torch.set_num_threads(threads)
    parameters = locals()
    config = guarded(lambda: _training_config(CSTrainConfig, parameters))

    guarded(lambda: train_cs(config, resume=resume, report=_echo_row))


@train_app.command("colorize")
def train_colorize_command(
    data: TrainData,
    out: TrainOut,
    val: TrainVal = None,
    run_dir: RunDir = None,
    num_feat: Annotated[int, typer.Option(help="Feature channels.")] = 32,
    num_conv: Annotated[int, typer.Option(help="Body convolutions.")] = 8,
    calibrate: Annotated[
        Path | None,
        typer.Option(help="Colour images to calibrate temperature and saturation on [default: --val]."),
    ] = None,
    temperature: Annotated[float, typer.Option(help="Annealed-mean temperature for validation.")] = 0.4,
    sigma: Annotated[float, typer.Option(help="Width of the soft chroma targets.")] = 0.04,
    rebalance: Annotated[float, typer.Option(help="Mix of uniform in the class rebalancing (0 = full).")] = 0.5,
    steps: Steps = 4000,
    minutes: Minutes = None,
    stop_at: StopAt = None,
    init: Init = None,
    batch: Batch = 32,
    patch: Annotated[int, typer.Option(help="Patch side in pixels (a multiple of 4).")] = 64,
    lr: LearningRate = 5e-4,
    seed: Seed = 0,
    val_every: ValEvery = 250,
    ema: Ema = None,
    threads: Threads = None,
    resume: Resume = False,
) -> None:
    """Train a colorization network: chroma classified at quarter resolution with rebalanced soft
    targets; gray comes from the input through PD, so only chroma is learned. At the end the
    decoding (temperature, saturation) is calibrated on --calibrate: the most colourful that
    still beats the gray copy's PSNR."""
    import torch

    from srcli.train_colorize import ColorizeTrainConfig, train_colorize

    if threads:
        torch.set_num_threads(threads)
    if patch % 4:
        fail(f"--patch must be a multiple of 4, got {patch}")
    parameters = locals()
    config = guarded(lambda: _training_config(ColorizeTrainConfig, parameters))

    guarded(lambda: train_colorize(config, resume=resume, report=_echo_row))


def main() -> None:
    app()
