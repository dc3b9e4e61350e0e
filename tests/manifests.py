"""A manifest of small random SR models in place of the shipped one, for tests of the default choice."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from srcli.archs.compact import SRVGGNetCompact
from srcli.checkpoints import manifest as registry
from srcli.checkpoints.load import save_checkpoint
from srcli.checkpoints.manifest import sha256_of


def tiny_sr_model(path: Path, scale: int, degradation: str = "box") -> Path:
    """A random compact ×``scale`` net (8 features, 2 convolutions) saved as srcli trained it for ``degradation``."""
    torch.manual_seed(scale)
    header = {"task": "sr", "pd": "true", **({"degradation": degradation} if degradation != "box" else {})}
    save_checkpoint(path, SRVGGNetCompact(3, 8, 2, scale), header)
    return path


def install_manifest(monkeypatch, folder: Path, models: dict[str, tuple[Path, int, str]]) -> None:
    """Make ``models`` (name → weights, scale, degradation) the shipped SR defaults, in ``folder``."""
    entries = [
        {
            "name": name,
            "task": "sr",
            "scale": scale,
            "arch": "compact",
            "file": str(path),
            "sha256": sha256_of(path),
            "size": path.stat().st_size,
            "default": True,
            **({"degradation": degradation} if degradation != "box" else {}),
        }
        for name, (path, scale, degradation) in models.items()
    ]
    (folder / "manifest.json").write_text(json.dumps({"models": entries}))
    monkeypatch.setattr(registry, "weights_dir", lambda: folder)
