"""The models srcli knows by name: ``weights/manifest.json``, shipped inside the wheel."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from srcli.errors import ModelError


def weights_dir() -> Path:
    """Where the shipped weights are: inside the installed wheel, or ``weights/`` of a checkout."""
    package = Path(__file__).resolve().parents[1]  # srcli/
    packaged = package / "weights"
    return packaged if packaged.is_dir() else package.parent / "weights"


@dataclass(frozen=True)
class ModelEntry:
    """One row of ``weights/manifest.json``."""

    name: str
    task: str
    scale: int
    arch: str
    file: str
    sha256: str
    size: int
    default: bool = False
    repo: str | None = None
    revision: str = "main"
    metrics: dict[str, object] = field(default_factory=dict)
    training: dict[str, object] = field(default_factory=dict)
    ratio: float | None = None
    seed: int | None = None
    realistic: bool = False
    psnr_model: str | None = None
    """A realistic (adversarially trained) SR model, and the PSNR model ``--realism`` blends it with."""
    degradation: str = "box"
    """The LR an SR model was trained on (``box``, ``bicubic``: a degradation spec's kind); a default of another
    degradation than box is what ``upscale --degradation`` runs for its scale."""

    @property
    def shipped_path(self) -> Path:
        return weights_dir() / self.file

    @property
    def shipped(self) -> bool:
        return self.shipped_path.is_file()


def load_manifest() -> list[ModelEntry]:
    """The models srcli knows by name."""
    path = weights_dir() / "manifest.json"
    if not path.is_file():
        return []
    return [ModelEntry(**entry) for entry in json.loads(path.read_text())["models"]]


def find_entry(name: str) -> ModelEntry:
    """The manifest entry called ``name``."""
    entries = {entry.name: entry for entry in load_manifest()}
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise ModelError(f"unknown model {name!r} (known: {known}; or pass a checkpoint path)")
    return entries[name]


def defaults(task: str) -> list[ModelEntry]:
    """The manifest's default entries for a task (never a realistic one: those are reached by ``realism``)."""
    return [entry for entry in load_manifest() if entry.task == task and entry.default and not entry.realistic]


def realistic_entries(scale: int) -> list[ModelEntry]:
    """The realistic SR models of ``scale``, a default one first."""
    found = [entry for entry in load_manifest() if entry.task == "sr" and entry.realistic and entry.scale == scale]
    return sorted(found, key=lambda entry: not entry.default)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(entry: ModelEntry, path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` has the sha256 the manifest lists for ``entry``."""
    actual = sha256_of(path)
    if actual != entry.sha256:
        raise ModelError(
            f"model {entry.name}: {path.name} does not match its sha256 in the manifest (expected "
            f"{entry.sha256[:12] or 'none'}…, got {actual[:12]}…): the file is damaged or was replaced; "
            "reinstall srcli (or pull the model again)"
        )
