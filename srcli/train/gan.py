"""``srcli train gan``: adversarial ×s super-resolution trained through PD.

The generator is the compact SR network (usually started from a PSNR-trained one with ``--init``);
its output is projected onto the images whose s×s box mean is the 8-bit LR (``PDWrapper`` with
``AvgPool``, its correction nearest or smooth) before any loss or the discriminator sees it, and so
is the real HR patch, so the discriminator judges, and the generator learns, only the null space:
what the LR does not fix.

Losses (weights as options): L1 to the HR patch; the relativistic average GAN loss of ESRGAN
(Wang et al. 2018), with a U-Net discriminator with spectral norm (:mod:`srcli.train.discriminator`,
as Real-ESRGAN) that scores every pixel; feature matching, the L1 distance between the
discriminator's activations on the output and on the HR patch; and, with ``--naturalness``, a
frozen NatSR-style classifier's verdict (:mod:`srcli.train.naturalness`); and, with ``--ldl``, LDL's artefact
loss (:mod:`srcli.train.ldl`: an L1 weighted where the output's residual is erratic and the weight average's
output, ``--ema``, is closer to the photo); with ``--texture-gate``, the discriminator's terms (adversarial and feature
matching) reach each output pixel in proportion to the photo's local texture there (:mod:`srcli.train.texture_gate`),
so the generator paints where the photo has detail and leaves flat areas to the L1. With a per-pixel discriminator the
relativistic "average" is over the batch and its pixels (as BasicSR):

    D_Ra(a, b) = σ(C(a) − mean C(b))
    L_D = −½ [log D_Ra(real, fake) + log(1 − D_Ra(fake, real))]
    L_G^adv = −½ [log(1 − D_Ra(real, fake)) + log D_Ra(fake, real)]

There is no ImageNet network here, so no VGG perceptual loss and no LPIPS. Validation logs PSNR-Y,
which falls as realism rises, and the detail energy (Laplacian energy of luma relative to the
photo's: Set5 ×4 bicubic 0.04, the PSNR-trained compact-x4 0.36, Real-ESRGAN x4plus 1.30); the
run keeps its last export, not the best PSNR one (the best PSNR is the least realistic).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from srcli.checkpoints.load import build_network
from srcli.errors import TrainError
from srcli.io.testsets import protocol_pair
from srcli.maths.metrics import detail, psnr_y
from srcli.maths.operators import AvgPool, PDWrapper
from srcli.train.configs.gan import GANTrainConfig
from srcli.train.data import sample_batch
from srcli.train.discriminator import UNetDiscriminatorSN
from srcli.train.ldl import ldl_loss
from srcli.train.loop import Report, Task, drained_means, fit
from srcli.train.naturalness import load_naturalness
from srcli.train.sr import box_lr, grown_compact
from srcli.train.texture_gate import texture_gate


def relativistic_losses(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L_D, L_G^adv)`` of the relativistic average GAN for logits ``real`` and ``fake`` (any equal
    shapes), the average over every element; each is ½ the sum of two binary cross-entropies."""
    real_vs_fake, fake_vs_real = real - fake.mean(), fake - real.mean()
    bce = F.binary_cross_entropy_with_logits
    ones, zeros = torch.ones_like(real), torch.zeros_like(real)
    discriminator = 0.5 * (bce(real_vs_fake, ones) + bce(fake_vs_real, zeros))
    generator = 0.5 * (bce(real_vs_fake, zeros) + bce(fake_vs_real, ones))
    return discriminator, generator


def gated(image: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """``image`` unchanged in value, its gradient scaled by ``gate`` (broadcast) pixel by pixel: what a loss on the
    result teaches the network reaches each pixel in proportion to the gate. (A weight on the relativistic loss
    itself would not do: its averages reach every pixel alike.)"""
    return gate * image + (1 - gate) * image.detach()


def feature_matching(fake: list[torch.Tensor], real: list[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of the mean absolute difference of the activations."""
    return torch.stack([F.l1_loss(a, b) for a, b in zip(fake, real, strict=True)]).mean()


def validate_gan(model: nn.Module, pairs: list[tuple[torch.Tensor, torch.Tensor]], scale: int) -> dict[str, float]:
    """Mean PSNR-Y and detail energy (:func:`srcli.maths.metrics.detail`: the output's over the photo's) of the
    model's rounded output on ``(HR, LR)`` uint8 pairs, ``scale`` border pixels cropped."""
    psnrs, details = [], []
    for hr, lr in pairs:
        with torch.inference_mode():
            sr = (model(lr.float() / 255).clamp(0, 1) * 255).round() / 255
        photo = hr.float() / 255
        psnrs.append(psnr_y(sr, photo, scale))
        details.append(detail(sr, photo, scale))
    return {"val_psnr_y": sum(psnrs) / len(psnrs), "val_detail": sum(details) / len(details)}


class GANTask(Task):
    """The compact generator inside PD against a U-Net discriminator (the critic ``d``)."""

    y_label = "PSNR-Y (dB)"
    keep_best = False  # the last export is kept: the best PSNR-Y is the least adversarial

    def __init__(self, config: GANTrainConfig) -> None:
        self.config = config
        self.min_side = config.patch * config.scale
        self.operator = AvgPool(config.scale, config.correction)
        self.curve = f"x{config.scale} GAN, PD"
        self.title = f"validation PSNR-Y, x{config.scale} GAN (falls as detail rises)"
        self.terms: dict[str, list[float]] = {"l1": [], "adv": [], "fm": []}
        self.naturalness = load_naturalness(config.naturalness, config.scale) if config.naturalness else None
        if self.naturalness is not None:
            self.terms["nat"] = []
        if config.ldl:
            self.terms["ldl"] = []
        self.columns = (*self.terms, "val_detail")

    def prepare(self, images: list[torch.Tensor], val_files: list[Path], report: Report) -> None:
        self.images = images
        self.pairs = [protocol_pair(path, self.config.scale) for path in val_files]

    def build_net(self) -> nn.Module:
        return build_network("compact", self.config.network_config())

    def fit_weights(self, weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return grown_compact(weights, "compact", self.config.scale, self.config.num_conv)

    def wrap(self, net: nn.Module) -> nn.Module:
        net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.net, self.model = net, PDWrapper(net, self.operator)
        self.discriminator = UNetDiscriminatorSN(3, self.config.d_feat)
        return self.model

    def critics(self) -> dict[str, nn.Module]:
        return {"d": self.discriminator}

    def draw_batch(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        config = self.config
        hr = sample_batch(self.images, generator, config.batch, self.min_side) / 255
        lr = box_lr(hr * 255, config.scale) / 255
        real = self.operator.project(hr, lr)  # the photo, made exactly consistent with the 8-bit LR
        return lr.contiguous(memory_format=torch.channels_last), real

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        config, discriminator = self.config, self.discriminator
        fake = self.model(inputs)
        self.real, self.fake = targets, fake.detach()  # for the discriminator's step
        discriminator.requires_grad_(False)  # the generator's step leaves the discriminator's gradients alone
        try:
            judged = fake if not config.texture_gate else gated(fake, texture_gate(targets, config.texture_gate))
            fake_logits, fake_features = discriminator.features(judged)
            with torch.no_grad():
                real_logits, real_features = discriminator.features(targets)
        finally:
            discriminator.requires_grad_(True)
        l1 = F.l1_loss(fake, targets)
        adversarial = relativistic_losses(real_logits, fake_logits)[1]
        matching = feature_matching(fake_features, real_features)
        terms = {"l1": l1, "adv": adversarial, "fm": matching}
        total = config.l1_weight * l1 + config.adv_weight * adversarial + config.fm_weight * matching
        if self.naturalness is not None:  # frozen: −log σ(N(output)), the output judged natural
            terms["nat"] = F.binary_cross_entropy_with_logits(self.naturalness(fake), torch.ones(len(fake)))
            total = total + config.nat_weight * terms["nat"]
        if config.ldl:
            terms["ldl"] = ldl_loss(targets, fake, self.average_output(inputs))
            total = total + config.ldl * terms["ldl"]
        for name, value in terms.items():
            self.terms[name].append(value.item())
        return total

    def average_output(self, inputs: torch.Tensor) -> torch.Tensor:
        """The weight average's output inside PD for LR ``inputs``, without gradients: one more forward pass of
        the generator, with the average's tensors in place of its weights (the module itself untouched)."""
        if self.average is None:
            raise TrainError("--ldl needs --ema: its artefact map compares the output with the weight average's")
        with torch.no_grad():
            return self.operator.project(functional_call(self.net, self.average.tensors, (inputs,)), inputs)

    def critic_loss(self, name: str) -> torch.Tensor:
        return relativistic_losses(self.discriminator(self.real), self.discriminator(self.fake))[0]

    def loss_terms(self) -> dict[str, float]:
        return drained_means(self.terms)

    def validate(self) -> dict[str, float]:
        return validate_gan(self.model, self.pairs, self.config.scale) if self.pairs else {}

    def header(self, row: dict[str, str]) -> dict[str, str]:
        scale = str(self.config.scale)
        detail = row.get("val_detail", "nan")
        return {
            "task": "sr",
            "scale": scale,
            "pd": "true",
            "correction": self.config.correction,
            "val_psnr_y": row["val_psnr_y"],
            "val_detail": detail,
        }


def train_gan(config: GANTrainConfig, resume: bool, report: Report = print) -> Path:
    """Train (or resume) an adversarial SR generator; writes its weights to ``config.out``."""
    return fit(GANTask(config), config, resume, report)
