"""Compressed-sensing measurement files: float32 measurements in safetensors, self-describing.

The tensor ``measurements`` is ``(C·M, h, w)`` float32: ``M`` values per 32×32 block and
channel of the image scaled to [0, 1] and padded to whole blocks. The header holds what
reconstruction needs (ratio, block, seed, sizes, padding, bit depth), a fingerprint of the
sensing rows (so a seed that gives other rows, e.g. under another random-number generator,
is caught) and a sha256 over the tensor and every other field (so an edited file is caught).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from PIL import Image
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from srcli._version import __version__
from srcli.errors import MeasurementError
from srcli.io.images import write_bytes_atomic
from srcli.maths.operators import BlockCS

FORMAT = "srcli-cs-measurements"
FORMAT_VERSION = "1"
TENSOR = "measurements"
MIN_BLOCK, MAX_BLOCK = 2, 64


@dataclass(frozen=True)
class SensingInfo:
    """Everything about a measurement but the values."""

    ratio: float
    block: int
    seed: int
    m: int
    height: int
    width: int
    padded_height: int
    padded_width: int
    channels: int
    bit_depth: int
    rows_sha256: str

    def operator(self) -> BlockCS:
        return BlockCS(self.ratio, self.block, self.seed)


def rows_fingerprint(operator: BlockCS) -> str:
    """sha256 of the sensing rows, rounded to float32 so that the last bits of QR do not matter."""
    return hashlib.sha256(operator.rows.to(torch.float32).numpy().tobytes()).hexdigest()


def _checksum(values: torch.Tensor, fields: dict[str, str]) -> str:
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode())
    digest.update(values.contiguous().numpy().tobytes())
    return digest.hexdigest()


def encode_measurements(values: torch.Tensor, info: SensingInfo) -> bytes:
    """The bytes of a measurement file for ``values`` ``(C·M, h, w)`` float32."""
    fields = {key: str(value) for key, value in asdict(info).items()}
    fields |= {"format": FORMAT, "format_version": FORMAT_VERSION, "srcli_version": __version__}
    values = values.to(torch.float32).contiguous()
    return save({TENSOR: values}, metadata=fields | {"sha256": _checksum(values, fields)})


def write_measurements(values: torch.Tensor, info: SensingInfo, target: Path, overwrite: bool) -> None:
    """Write a measurement file atomically (never over an existing file without ``overwrite``)."""
    write_bytes_atomic(encode_measurements(values, info), target, overwrite)


def _parse_info(fields: dict[str, str], name: str) -> SensingInfo:
    try:
        info = SensingInfo(
            ratio=float(fields["ratio"]),
            block=int(fields["block"]),
            seed=int(fields["seed"]),
            m=int(fields["m"]),
            height=int(fields["height"]),
            width=int(fields["width"]),
            padded_height=int(fields["padded_height"]),
            padded_width=int(fields["padded_width"]),
            channels=int(fields["channels"]),
            bit_depth=int(fields["bit_depth"]),
            rows_sha256=fields["rows_sha256"],
        )
    except KeyError as missing:
        raise MeasurementError(f"{name}: metadata field {missing} is missing") from None
    except ValueError as error:
        raise MeasurementError(f"{name}: malformed metadata ({error})") from None
    return info


def read_measurements(path: Path) -> tuple[torch.Tensor, SensingInfo]:
    """Values ``(C·M, h, w)`` float32 and their :class:`SensingInfo`, every field checked."""
    name = str(path)
    if not path.is_file():
        raise MeasurementError(f"{name}: no such file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            fields = dict(handle.metadata() or {})
            if fields.get("format") != FORMAT:
                raise MeasurementError(f"{name}: not an srcli measurement file (make one with `srcli cs sample`)")
            if TENSOR not in handle.keys():  # noqa: SIM118 (safe_open has no __contains__)
                raise MeasurementError(f"{name}: no '{TENSOR}' tensor")
            values = handle.get_tensor(TENSOR)
    except (SafetensorError, OSError) as error:
        raise MeasurementError(f"{name}: not a safetensors file ({error})") from None
    if fields.get("format_version") != FORMAT_VERSION:
        raise MeasurementError(f"{name}: measurement format version {fields.get('format_version')} is not supported")
    stored = fields.pop("sha256", None)
    if stored is None:
        raise MeasurementError(f"{name}: metadata field 'sha256' is missing")
    if values.dtype != torch.float32 or values.ndim != 3 or stored != _checksum(values, fields):
        raise MeasurementError(f"{name}: checksum mismatch: the file was changed after `srcli cs sample` wrote it")
    info = _parse_info(fields, name)
    _check_consistent(values, info, name)
    return values, info


def _check_consistent(values: torch.Tensor, info: SensingInfo, name: str) -> None:
    """Sizes, ratio and seed must be usable and agree with each other and with the tensor."""
    if info.channels not in (1, 3) or info.bit_depth not in (8, 16):
        raise MeasurementError(f"{name}: unsupported {info.channels} channels at {info.bit_depth} bits")
    if not (0 < info.ratio <= 1 and MIN_BLOCK <= info.block <= MAX_BLOCK and -(2**63) <= info.seed < 2**63):
        raise MeasurementError(f"{name}: unusable ratio {info.ratio}, block {info.block} or seed {info.seed}")
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and info.padded_height * info.padded_width > limit:
        raise MeasurementError(
            f"{name}: {info.padded_width}×{info.padded_height} is too large ({Image.MAX_IMAGE_PIXELS} pixels at most, "
            "the decompression-bomb guard images have)"
        )
    if not torch.isfinite(values).all():
        raise MeasurementError(f"{name}: the measurements hold NaN or infinite values")
    blocks = (info.padded_height // info.block, info.padded_width // info.block)
    if values.shape != (info.channels * info.m, *blocks) or not (
        0 < info.height <= info.padded_height and 0 < info.width <= info.padded_width
    ):
        raise MeasurementError(f"{name}: measurements of shape {tuple(values.shape)} do not fit the metadata")
    operator = info.operator()
    if operator.m != info.m:
        raise MeasurementError(f"{name}: ratio {info.ratio} gives {operator.m} rows per block, not {info.m}")
    if rows_fingerprint(operator) != info.rows_sha256:
        raise MeasurementError(
            f"{name}: seed {info.seed} does not give the sensing rows these measurements were taken with"
        )
