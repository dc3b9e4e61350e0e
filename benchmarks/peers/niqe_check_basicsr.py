"""srcli's NIQE against BasicSR's port of the MATLAB release, both with MATLAB's published pristine model.

    python benchmarks/peers/niqe_check_basicsr.py BASICSR_CHECKOUT [--scipy DIR]

BASICSR_CHECKOUT is a BasicSR source tree (``basicsr/metrics/niqe.py``, ``niqe_pris_params.npz``,
``basicsr/utils/matlab_functions.py``; it needs scipy, which srcli does not: ``--scipy`` adds a folder
holding it to the path). Nothing of it is kept in srcli. BasicSR's ``imresize`` runs in float32; MATLAB's
in float64, so it is run here in float64. srcli's fits count values under 1e-8 as 0 (round-off of flat
areas, whose signs otherwise decide a flat patch's fit); ``--same-round-off`` gives BasicSR the same
rule. Both get the same rounded BT.601 luma of every Set5 and Set14 photo. Writes
``benchmarks/results/niqe-check-basicsr[-same-round-off].json``: both scores per image, the largest
difference. This checks the features, the fits and the distance; the pristine
model srcli ships is its own (``realism/niqe_fit.py``), so srcli's reported NIQE is not MATLAB's.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srcli.io.images import pil_to_tensor
from srcli.maths.niqe import ROUND_OFF, PristineModel, luma, niqe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT, bench_files

PACKAGES = ("basicsr", "basicsr.metrics", "basicsr.utils", "basicsr.utils.registry", "basicsr.metrics.metric_util")


def load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def basicsr_niqe(checkout: Path) -> types.ModuleType:
    """BasicSR's ``niqe.py`` with its package imports stubbed, and its ``imresize`` in float64."""
    for name in PACKAGES:
        sys.modules[name] = types.ModuleType(name)
    source = (checkout / "basicsr" / "utils" / "matlab_functions.py").read_text()
    source = source.replace(".float()", ".double()").replace("torch.FloatTensor(", "torch.DoubleTensor(")
    functions = types.ModuleType("basicsr.utils.matlab_functions")
    torch.set_default_dtype(torch.float64)  # its kernel weights are made at each call, in the default dtype
    exec(compile(source, "matlab_functions.py", "exec"), functions.__dict__)
    sys.modules["basicsr.utils.matlab_functions"] = functions

    class Registry:
        def register(self):
            return lambda function: function

    sys.modules["basicsr.utils.registry"].METRIC_REGISTRY = Registry()  # type: ignore[attr-defined]
    sys.modules["basicsr.metrics.metric_util"].reorder_image = None  # type: ignore[attr-defined]
    sys.modules["basicsr.metrics.metric_util"].to_y_channel = None  # type: ignore[attr-defined]
    return load("basicsr_niqe", checkout / "basicsr" / "metrics" / "niqe.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path)
    parser.add_argument("--scipy", type=Path, help="a folder holding scipy (pip install --target DIR scipy)")
    parser.add_argument("--commit", default="", help="the BasicSR commit checked out, for the record")
    parser.add_argument("--same-round-off", action="store_true", help="BasicSR too counts |MSCN| < 1e-8 as 0")
    args = parser.parse_args()
    if args.scipy:
        sys.path.append(str(args.scipy))
    reference = basicsr_niqe(args.checkout)
    if args.same_round_off:
        fit = reference.estimate_aggd_param
        reference.estimate_aggd_param = lambda block: fit(np.where(np.abs(block) < ROUND_OFF, 0.0, block))
    params = np.load(args.checkout / "basicsr" / "metrics" / "niqe_pris_params.npz")
    matlab = PristineModel(
        torch.from_numpy(params["mu_pris_param"]).double().flatten(), torch.from_numpy(params["cov_pris_param"]), 0
    )
    rows = []
    for name in ("Set5", "Set14"):
        for path in bench_files(name):
            with Image.open(path) as image:
                rgb = pil_to_tensor(image.convert("RGB")).unsqueeze(0).double() / 255
            theirs = reference.niqe(
                luma(rgb).numpy(), params["mu_pris_param"], params["cov_pris_param"], params["gaussian_window"]
            )
            ours = niqe(rgb, matlab)
            rows.append({"set": name, "image": path.name, "basicsr_float64": round(theirs, 5), "srcli": round(ours, 5)})
            print(json.dumps(rows[-1]), flush=True)
    differences = [abs(r["srcli"] - r["basicsr_float64"]) for r in rows]
    record = {
        "what": "NIQE with MATLAB's published pristine model: srcli.maths.niqe against BasicSR's port (float64)",
        "basicsr_commit": args.commit,
        "same_round_off": args.same_round_off,
        "images": len(rows),
        "max_abs_difference": round(max(differences), 5),
        "within_1e-4": sum(d <= 1e-4 for d in differences),
        "rows": rows,
    }
    name = "niqe-check-basicsr" + ("-same-round-off" if args.same_round_off else "")
    (ROOT / "benchmarks" / "results" / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
