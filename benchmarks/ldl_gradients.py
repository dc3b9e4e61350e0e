"""How strongly each term of ``srcli train gan`` pulls on the output, to choose ``--ldl``'s weight.

    python benchmarks/ldl_gradients.py [--state training/gan-x4-warm/state.safetensors] [--patches 16]

From a gan run's state (its current generator, its weight average and its discriminator), on ``--patches``
training patches (96×96 HR from CBSD432, box LR, both inside PD as in training): the norm of the gradient, with
respect to the projected output, of the L1, the weighted adversarial loss, feature matching and LDL's artefact loss
at weight 1; the artefact map's share of kept pixels and its quantiles; and the cosine between the LDL and
adversarial gradients. Writes ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from srcli.archs.compact import SRVGGNetCompact
from srcli.maths.operators import AvgPool
from srcli.train.data import load_training_images, sample_batch
from srcli.train.discriminator import UNetDiscriminatorSN
from srcli.train.gan import feature_matching, relativistic_losses
from srcli.train.ldl import artefact_map, ldl_loss
from srcli.train.sr import box_lr

ROOT = Path(__file__).resolve().parents[1]
SCALE, SIDE = 4, 96


def part(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, default=ROOT / "training" / "gan-x4-warm" / "state.safetensors")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train" / "CBSD432")
    parser.add_argument("--patches", type=int, default=16)
    parser.add_argument("--adv-weight", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ldl-gradients-x4.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    state = load_file(str(args.state))
    generator, average = SRVGGNetCompact(3, 64, 8, SCALE), SRVGGNetCompact(3, 64, 8, SCALE)
    generator.load_state_dict(part(state, "model."))
    average.load_state_dict(part(state, "ema."))
    critic = UNetDiscriminatorSN(3, 32)
    critic.load_state_dict(part(state, "critic.d.model."))
    critic.requires_grad_(False)
    operator = AvgPool(SCALE)
    images = load_training_images(args.data, SIDE, ())
    hr = sample_batch(images, torch.Generator().manual_seed(args.seed), args.patches, SIDE) / 255
    lr = box_lr(hr * 255, SCALE) / 255
    real = operator.project(hr, lr)
    with torch.no_grad():
        fake, steady = operator.project(generator(lr), lr), operator.project(average(lr), lr)
        real_logits, real_features = critic.features(real)
    fake.requires_grad_()
    fake_logits, fake_features = critic.features(fake)
    terms = {
        "l1": F.l1_loss(fake, real),
        "adv_weighted": args.adv_weight * relativistic_losses(real_logits, fake_logits)[1],
        "fm": feature_matching(fake_features, real_features),
        "ldl": ldl_loss(real, fake, steady),
    }
    gradients = {name: torch.autograd.grad(value, fake, retain_graph=True)[0] for name, value in terms.items()}
    weights = artefact_map(real, fake.detach(), steady).flatten()
    levels = torch.tensor([0.5, 0.9, 0.99, 0.999])
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "state": str(args.state.relative_to(ROOT) if args.state.is_relative_to(ROOT) else args.state),
        "patches": args.patches,
        "loadavg": [round(value, 2) for value in os.getloadavg()],
        "loss": {name: round(value.item(), 6) for name, value in terms.items()},
        "gradient_norm": {name: float(f"{value.norm().item():.4g}") for name, value in gradients.items()},
        "map_kept_share": round((weights > 0).float().mean().item(), 4),
        "map_quantiles": {
            f"{level:g}": float(f"{q:.3g}") for level, q in zip(levels.tolist(), weights.quantile(levels), strict=True)
        },
        "cosine_ldl_adv": round(
            F.cosine_similarity(gradients["ldl"].flatten(), gradients["adv_weighted"].flatten(), 0).item(), 4
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
