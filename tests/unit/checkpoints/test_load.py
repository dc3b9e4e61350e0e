"""Checkpoints that cannot be used are one ModelError line; shipped weights are checked against the manifest."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from srcli.archs.compact import SRVGGNetCompact
from srcli.checkpoints import manifest as registry
from srcli.checkpoints.load import load_model, read_metadata, save_checkpoint
from srcli.checkpoints.resolve import resolve
from srcli.errors import ModelError


class Payload:
    """A pickle that would create ``marker`` when unpickled with full pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def tiny(tmp_path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "tiny.safetensors"
    save_checkpoint(path, SRVGGNetCompact(3, 8, 2, 2), {"task": "sr"})
    return path


def refused(path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the refusal is the one message: no warning beside it
        with pytest.raises(ModelError) as failure:
            load_model(path)
    assert "\n" not in str(failure.value)
    return str(failure.value)


def test_a_pickle_with_a_payload_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"params": Payload(marker)}, protocol=4))
    assert "not a weights-only PyTorch checkpoint" in refused(tmp_path / "evil.pth")
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"hello, I am text", b"", b"PK\x03\x04 truncated zip"])
def test_a_pth_that_is_not_a_checkpoint_is_one_line(tmp_path, content):
    (tmp_path / "not.pth").write_bytes(content)
    assert "not a weights-only PyTorch checkpoint" in refused(tmp_path / "not.pth")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_at_load(tiny, bad):
    tensors = load_file(str(tiny))
    name = sorted(tensors)[1]
    tensors[name].view(-1)[0] = bad
    save_file(tensors, str(tiny))
    assert "NaN or infinite" in refused(tiny)


def test_a_truncated_or_reshaped_checkpoint_is_one_line(tiny, tmp_path):
    data = tiny.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    assert "not a valid safetensors file" in refused(tmp_path / "cut.safetensors")
    tensors = load_file(str(tiny))
    name = next(key for key in sorted(tensors) if tensors[key].ndim == 4)
    tensors[name] = torch.zeros(*tensors[name].shape[:-1], tensors[name].shape[-1] + 2)
    save_file(tensors, str(tmp_path / "shape.safetensors"))
    assert "do not fit" in refused(tmp_path / "shape.safetensors")


def test_saved_weights_get_a_plain_writes_permissions(tiny):
    assert stat.S_IMODE(tiny.stat().st_mode) == 0o666 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_flipped_byte_in_shipped_weights_is_refused(tmp_path, monkeypatch):
    """A byte of tensor data changed after shipping: the manifest's sha256 no longer matches, so it is not used."""
    shipped = registry.weights_dir()
    copy = tmp_path / "weights"
    shutil.copytree(shipped, copy)
    monkeypatch.setattr(registry, "weights_dir", lambda: copy)
    entry = next(e for e in registry.load_manifest() if e.task == "sr")
    assert resolve(entry.name, "sr")[0].scale == entry.scale  # untouched: used
    path = copy / entry.file
    data = bytearray(path.read_bytes())
    header = int.from_bytes(data[:8], "little")
    data[8 + header + 100] ^= 0x01  # a low mantissa bit of one weight: a finite, plausible network
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=f"model {entry.name}: .* does not match its sha256 in the manifest"):
        resolve(entry.name, "sr")
    assert json.loads((copy / "manifest.json").read_text())  # the manifest itself is untouched


@pytest.mark.parametrize("skip", ["nearest", "bilinear"])
def test_a_compact_nets_skip_travels_in_its_header(tmp_path, skip):
    torch.manual_seed(0)
    net = SRVGGNetCompact(3, 8, 2, 4, skip=skip).eval()
    save_checkpoint(tmp_path / "net.safetensors", net, {"task": "sr"})
    loaded = load_model(tmp_path / "net.safetensors")[0].net
    x = torch.rand(1, 3, 6, 5)
    with torch.inference_mode():
        assert loaded.skip == skip and torch.equal(loaded(x), net(x))


def test_an_unknown_skip_in_a_header_is_one_line(tiny, tmp_path):
    header = {**read_metadata(tiny), "config": json.dumps({"skip": "cubic"})}
    save_file(load_file(tiny), tmp_path / "odd.safetensors", metadata=header)
    assert "skip must be one of nearest, bilinear" in refused(tmp_path / "odd.safetensors")
