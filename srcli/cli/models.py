"""``srcli models list|info|pull|verify|export``: the manifest, the Hub cache and checksums."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from srcli.cli import report
from srcli.cli.common import Json

models_app = typer.Typer(
    help="The models srcli knows: shipped, cached from the Hub, or remote.", no_args_is_help=True, rich_markup_mode=None
)

SET5_BASELINES = {
    "sr": ("psnr_y", "Y", "bicubic_psnr_y", "bicubic"),
    "cs": ("psnr", "RGB", "linear_psnr", "linear stage"),
    "colorize": ("psnr", "RGB", "gray_copy_psnr", "gray copy"),
}
"""Per task: the Set5 metric, its channels, the baseline's metric and the baseline's name."""


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
        "degradation": entry.degradation if entry.task == "sr" else None,
        "sha256": entry.sha256,
        "metrics": entry.metrics,
    }


def _set5_summary(task: str, set5: dict[str, Any]) -> str:
    """A model's Set5 PSNR beside its task's baseline, e.g. ``30.59 Y (bicubic 28.43)``, or for a model of JPEG
    inputs at quality 40 beside the pixel-exact path, ``27.29 Y at JPEG q40 (box path 26.26)``; — if unmeasured."""
    key, channels, baseline_key, baseline = SET5_BASELINES.get(task, SET5_BASELINES["sr"])
    jpeg = set5.get("jpeg_q40")
    if isinstance(jpeg, dict):
        return f"{jpeg['psnr_y']:.2f} Y at JPEG q40 (box path {jpeg['box_path_psnr_y']:.2f})"
    if key not in set5:
        return "—"
    return f"{set5[key]:.2f} {channels} ({baseline} {set5[baseline_key]:.2f})"


@models_app.command("list")
def models_list(json_output: Json = False) -> None:
    """Every known model: task, scale (or CS ratio), architecture, size, where it is, and its measured Set5 PSNR."""
    from srcli.checkpoints.hub import location
    from srcli.checkpoints.manifest import load_manifest

    entries = load_manifest()
    if json_output:
        for entry in entries:
            report.print_json(_entry_json(entry, location(entry)))
        return
    rows = []
    for entry in entries:
        set5 = entry.metrics.get("Set5", {})
        psnr = _set5_summary(entry.task, set5 if isinstance(set5, dict) else {})
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
def models_info(name: Annotated[str, typer.Argument(help="Model name, or a checkpoint file.")]) -> None:
    """Everything the manifest says of one model, or what a checkpoint file holds (architecture, task,
    scale, parameters, receptive radius, default correction, its header), as JSON on stdout."""
    from srcli.checkpoints.hub import location
    from srcli.checkpoints.manifest import find_entry
    from srcli.checkpoints.resolve import describe_file, looks_like_path

    if looks_like_path(name):
        report.print_json(describe_file(Path(name)))
        return
    entry = find_entry(name)
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
    from srcli.checkpoints.hub import pull
    from srcli.checkpoints.manifest import find_entry

    entry = find_entry(name)
    if entry.shipped and repo is None and revision is None:
        report.note(f"{name} ships with srcli: {entry.shipped_path}")
        return
    path = pull(entry, repo, revision)
    report.note(f"{name}: {path} (sha256 verified)")


@models_app.command("verify")
def models_verify() -> None:
    """Re-hash every local model file (shipped and cached) against the manifest; exit 1 on a mismatch."""
    from srcli.checkpoints.hub import cached_path, sha256_of
    from srcli.checkpoints.manifest import load_manifest

    rows, bad = [], 0
    for entry in load_manifest():
        path = entry.shipped_path if entry.shipped else cached_path(entry)
        if path is None:
            rows.append([entry.name, "remote", "—"])
            continue
        good = sha256_of(path) == entry.sha256
        bad += not good
        rows.append([entry.name, str(path), "ok" if good else "MISMATCH"])
    report.print_table("sha256 of local models", ["name", "file", "sha256"], rows, paths=(1,))
    if bad:
        raise typer.Exit(1)


@models_app.command("export")
def models_export(
    name: Annotated[str, typer.Argument(help="Model name.")],
    folder: Annotated[Path, typer.Argument(help="New (or empty) folder to write.")],
) -> None:
    """Write a folder ready to upload to the Hub: safetensors, config.json, and a model card with
    metrics and the training command."""
    from srcli.checkpoints.hub import export_model
    from srcli.checkpoints.manifest import find_entry
    from srcli.checkpoints.resolve import local_path

    entry = find_entry(name)
    written = export_model(entry, local_path(entry), folder)
    report.note("wrote " + ", ".join(str(path) for path in written))
