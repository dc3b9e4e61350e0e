"""Manifest entries for the register scripts: one checkpoint, its training record and metrics.

Imported by ``quality/register.py``, ``quality/register_cs.py`` and ``quality/colorize_eval.py`` (run from the
repository root as ``python benchmarks/SCRIPT.py``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from torch import nn

from srcli.checkpoints.hub import sha256_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT

MANIFEST = ROOT / "weights" / "manifest.json"


def model_entry(
    name: str, weights: Path, net: nn.Module, header: dict[str, str], default: bool, metrics: dict, **fields: object
) -> dict[str, object]:
    """The manifest entry of ``weights``: identity, hashes, ``metrics``, and the training record
    that ``srcli train`` left in the header. ``fields`` adds task-specific keys (task, scale, ratio)."""
    return {
        "name": name,
        **fields,
        "arch": header.get("arch"),
        "file": weights.name,
        "sha256": sha256_of(weights),
        "size": weights.stat().st_size,
        "default": default,
        "metrics": metrics,
        "training": {
            "command": header.get("command"),
            "data": header.get("data"),
            "pd": header.get("pd") == "true",
            "steps": int(header.get("steps", 0)),
            "seconds": float(header.get("train_seconds", 0)),
            "seconds_with_init": float(header.get("train_seconds_total", header.get("train_seconds", 0))),
            "parameters": sum(p.numel() for p in net.parameters()),
            "config": json.loads(header.get("config", "{}")),
            **({"recalibrated": header["recalibrated"]} if "recalibrated" in header else {}),
        },
    }


def write_entry(entry: dict[str, object], same_role: Callable[[dict], bool]) -> None:
    """Put ``entry`` in the manifest in place of any of its name; when it is the default, the
    entries for which ``same_role`` holds stop being defaults."""
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"models": []}
    models = [m for m in manifest["models"] if m["name"] != entry["name"]]
    if entry["default"]:
        for other in models:
            if same_role(other):
                other["default"] = False
    order = lambda m: (m["task"], m["scale"], m.get("ratio") or 0, m["name"])  # noqa: E731
    manifest["models"] = sorted([*models, entry], key=order)
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
