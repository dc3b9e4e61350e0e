"""srcli's USRNet against upstream's code: the same state-dict keys and shapes, ``strict=True`` loading of
upstream's weights, and the same output, at every scale, for USRNet-tiny's and USRNet's sizes.

    git clone https://github.com/cszn/USRNet /tmp/USRNet   # upstream's code; nothing of it is copied here
    python benchmarks/peers/usrnet_upstream.py /tmp/USRNet --out benchmarks/results/usrnet-upstream.json

Upstream's network (``models/network_usrnet_v1.py``, the version for PyTorch ≥ 1.8; its unused import of
``utils.utils_image`` is stubbed) is built with random weights, which srcli's loads; both run in float64 on
a random LR with a random 7×7 kernel and noise level. srcli keeps the pixel at offset ``s // 2`` of each
block, upstream the top-left one: upstream is given the kernel shifted by ``s // 2`` pixels, which is the
same degradation, so the outputs must agree.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import torch
import torch.nn.functional as F

from srcli.archs import detect
from srcli.archs.usrnet import USRNet

SIZES = {
    "usrnet_tiny": {"n_iter": 6, "h_nc": 32, "nc": [16, 32, 64, 64], "nb": 2},
    "usrnet": {"n_iter": 8, "h_nc": 64, "nc": [64, 128, 256, 512], "nb": 2},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("upstream", type=Path, help="a checkout of github.com/cszn/USRNet")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(args.upstream))
    for name in ("utils", "utils.utils_image"):  # imported by the network file, unused by it (needs cv2, torchvision)
        sys.modules.setdefault(name, types.ModuleType(name))
    from models.network_usrnet_v1 import USRNet as Upstream  # type: ignore[import-not-found]

    torch.manual_seed(0)
    results = []
    for name, sizes in SIZES.items():
        upstream = Upstream(in_nc=4, out_nc=3, act_mode="R", downsample_mode="strideconv",
                            upsample_mode="convtranspose", **sizes).double().eval()  # fmt: skip
        state = upstream.state_dict()
        arch = detect(state)
        ours = USRNet(**sizes).double().eval()
        ours.load_state_dict(state, strict=True)
        y = torch.rand(1, 3, 16, 16, dtype=torch.float64)
        kernel = torch.rand(1, 1, 7, 7, dtype=torch.float64)
        kernel /= kernel.sum()
        sigma = torch.full((1, 1, 1, 1), 5 / 255, dtype=torch.float64)
        differences = {}
        with torch.no_grad():
            for scale in (1, 2, 3, 4):
                o = scale // 2
                shifted = F.pad(kernel, (0, 2 * o, 0, 2 * o))  # its centre moved o pixels up and left
                ours_out = ours(y, F.pad(kernel, (o, o, o, o)), scale, sigma)
                differences[f"x{scale}"] = float((upstream(y, shifted, scale, sigma) - ours_out).abs().max())
        results.append({
            "model": name,
            "parameters": sum(p.numel() for p in ours.parameters()),
            "keys": len(state),
            "detected_as": arch.name if arch else None,
            "strict_load": True,
            "max_abs_difference": differences,
        })  # fmt: skip
    args.out.write_text(json.dumps({"torch": torch.__version__, "results": results}, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
