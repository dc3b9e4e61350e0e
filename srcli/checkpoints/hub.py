"""Checkpoints from a Hugging Face Hub repository: download, verify, cache.

Goes through ``huggingface_hub.hf_hub_download`` into the Hub cache and honours, at call
time, ``HF_ENDPOINT`` (a mirror or a local server), ``HF_HUB_OFFLINE`` (cache only),
``HF_HOME`` / ``HF_HUB_CACHE`` (where the cache is). Every file is checked against the
manifest's sha256 before it is used; nothing is unpickled.
"""

from __future__ import annotations

import os
from pathlib import Path

from srcli.checkpoints.manifest import ModelEntry, sha256_of
from srcli.errors import ModelError, first_line

DEFAULT_REPO = "srcli/srcli-models"


def cache_dir() -> Path:
    """The Hub cache: ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return Path(home) / "hub"


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def endpoint() -> str | None:
    return os.environ.get("HF_ENDPOINT") or None


def cached_path(entry: ModelEntry, repo: str | None = None, revision: str | None = None) -> Path | None:
    """The entry's file in the Hub cache, or None when it is not there."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(
        repo or entry.repo or DEFAULT_REPO, entry.file, cache_dir=cache_dir(), revision=revision or entry.revision
    )
    return Path(found) if isinstance(found, str) else None


def pull(entry: ModelEntry, repo: str | None = None, revision: str | None = None) -> Path:
    """Download (or find in the cache) the entry's file and verify its sha256.

    A file that fails the check is removed from the cache only if this call downloaded it;
    nothing the user had is deleted. Raises :class:`ModelError` with one clear line.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    repo_id, rev = repo or entry.repo or DEFAULT_REPO, revision or entry.revision
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise ModelError(f"{repo_id[:80]!r} is not a Hub repository id ({first_line(error)})") from None
    had_it = cached_path(entry, repo_id, rev) is not None
    try:
        path = Path(
            hf_hub_download(
                repo_id,
                entry.file,
                revision=rev,
                cache_dir=cache_dir(),
                endpoint=endpoint(),
                local_files_only=offline(),
            )
        )
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):
        where = "HF_HUB_OFFLINE is set and it" if offline() else "it could not be downloaded and"
        raise ModelError(f"model {entry.name}: {where} is not in the Hub cache ({cache_dir()})") from None
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError):
        raise ModelError(f"model {entry.name}: {entry.file} not found in {repo_id}@{rev}") from None
    except Exception as error:  # the transport's own errors differ between huggingface_hub versions
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        raise ModelError(f"model {entry.name}: download from {repo_id} failed ({reason})") from None
    actual = sha256_of(path)
    if actual != entry.sha256:
        if not had_it:
            _forget(path)
        raise ModelError(
            f"model {entry.name}: sha256 mismatch (expected {entry.sha256[:12]}…, got {actual[:12]}…); "
            "the file was not used"
        )
    return path


def _forget(path: Path) -> None:
    """Remove a downloaded snapshot link and the blob it points to."""
    blob = path.resolve()
    path.unlink(missing_ok=True)
    if blob != path:
        blob.unlink(missing_ok=True)


def location(entry: ModelEntry) -> str:
    """``shipped`` (inside the package), ``cached`` (in the Hub cache) or ``remote``."""
    if entry.shipped:
        return "shipped"
    return "cached" if cached_path(entry) is not None else "remote"


TASK_TEXT = {
    "sr": (
        "A ×{scale} super-resolution network",
        "srcli upscale IMAGE --scale {scale} --model {name}",
        "every saved file is exactly consistent with its input: its box downsample equals the input byte for byte",
    ),
    "cs": (
        "A block compressed-sensing reconstruction network for ratio {ratio} (sensing seed {seed})",
        "srcli cs reconstruct MEASUREMENTS.safetensors -o OUT.png --model {name}",
        "PD makes the float result consistent with the measurements (≥ 100 dB)",
    ),
    "colorize": (
        "A colorization network",
        "srcli colorize IMAGE --model {name}",
        "every saved file turns back into the input gray exactly",
    ),
}


def _metrics_table(metrics: dict[str, object]) -> str:
    """A markdown table with one row per benchmark set and one column per measured figure."""
    sets = {name: values for name, values in metrics.items() if isinstance(values, dict)}
    columns = list(dict.fromkeys(key for values in sets.values() for key in values))
    lines = ["| set | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    for name, values in sets.items():
        lines.append(f"| {name} | " + " | ".join(str(values.get(column, "")) for column in columns) + " |")
    return "\n".join(lines)


def _model_card(entry: ModelEntry) -> str:
    training = entry.training
    what, command, guarantee = (
        text.format(scale=entry.scale, ratio=entry.ratio, seed=entry.seed, name=entry.name)
        for text in TASK_TEXT.get(entry.task, TASK_TEXT["sr"])
    )
    return f"""---
library_name: srcli
tags: [{entry.task}, image-restoration, safetensors]
---

# {entry.name}

{what} ({entry.arch}, {training.get("parameters", "?")} parameters) trained
{"through the PD projection " if training.get("pd") else ""}by `srcli train` on {training.get("data", "?")}.
Run it with `{command}`: {guarantee}.

## Metrics (measured by srcli's benchmarks; see its README for the protocol)

{_metrics_table(entry.metrics)}

## Training

```
{training.get("command", "")}
```

{training.get("steps", "?")} steps, {float(str(training.get("seconds", 0))) / 60:.0f} minutes on 2 CPU cores.
"""


def export_model(entry: ModelEntry, weights: Path, folder: Path) -> list[Path]:
    """Write a folder ready to upload to the Hub: the safetensors, config.json and a model card."""
    import json
    import shutil

    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ModelError(f"{folder} exists and is not an empty folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ModelError(f"cannot create {folder}: {error.strerror or error}") from None
    from srcli.checkpoints.load import read_metadata  # torch: `srcli models list` must not wait for it

    header = read_metadata(weights)
    config = {
        "name": entry.name,
        "task": entry.task,
        "scale": entry.scale,
        "ratio": entry.ratio,
        "arch": entry.arch,
        "network": json.loads(header.get("config", "{}")),
        "sha256": entry.sha256,
        "pd": True,
    }
    written = [folder / entry.file, folder / "config.json", folder / "README.md"]
    shutil.copyfile(weights, written[0])
    written[1].write_text(json.dumps(config, indent=2) + "\n")
    written[2].write_text(_model_card(entry))
    return written
