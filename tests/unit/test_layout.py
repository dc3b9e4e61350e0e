"""Every module of srcli stands in a layer of the import contract, so none escapes the check."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11 and newer

ROOT = Path(__file__).resolve().parents[2]


def test_every_top_level_module_and_package_is_in_a_layer():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    layers = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    package = ROOT / "srcli"
    modules = {f"srcli.{p.stem}" for p in package.glob("*.py") if p.stem not in ("__init__", "__main__")}
    modules |= {f"srcli.{p.name}" for p in package.iterdir() if (p / "__init__.py").is_file()}
    assert modules - named == set(), "place these modules in a layer of pyproject's import contract"
