"""A naturalness discriminator in the manner of NatSR, and ``srcli train naturalness`` that trains it.

NatSR (Soh et al. 2019) trains a classifier, its natural manifold discriminator, to tell HR photos
from two kinds of unnatural images with the same LR, blurred ones and noisy ones, and then adds the
classifier's verdict on the SR output to the SR loss. Here both kinds are built through PD, so that
their s×s box means equal the photo's ``A x`` exactly and they differ from the photo only in the
null space, the part an SR network inside PD chooses::

    blurred  x_B = (1 − α) x + α PD(bicubic↑(A x), A x)
    noisy    x_N = x + σ (I − A⁺A) n,   n ~ N(0, 1) per pixel and channel

(``α`` is ``--blur``, ``σ`` is ``--noise``, both our choices, not NatSR's values). The classifier is
a small strided VGG-style network ending in a global mean: one logit per image, natural above 0.
It is trained once and then frozen: ``srcli train gan --naturalness PATH`` adds
``−log σ(N(output))`` to the generator's loss.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save
from torch import nn

from srcli.errors import TrainError
from srcli.io.atomic import write_bytes_atomic
from srcli.io.images import pil_to_tensor
from srcli.maths.operators import AvgPool
from srcli.train.configs.naturalness import NaturalnessTrainConfig
from srcli.train.data import sample_batch
from srcli.train.loop import Report, Task, fit

FORMAT = "srcli-naturalness"
VALIDATION_PATCHES = 64  # natural patches cut from the validation images (and as many unnatural copies)


class NaturalnessNet(nn.Module):
    """``(N, 3, H, W)`` in [0, 1] → ``(N,)`` logits, natural above 0 (``H``, ``W`` at least 8).

    Six 3×3 convolutions (``F, F, 2F, 2F, 4F, 4F`` channels, every second one of stride 2, leaky
    ReLU 0.2), the mean over the image, one linear layer.
    """

    def __init__(self, num_feat: int = 32) -> None:
        super().__init__()
        self.num_feat = num_feat
        layers: list[nn.Module] = []
        channels = 3
        for index, width in enumerate((num_feat, num_feat, 2 * num_feat, 2 * num_feat, 4 * num_feat, 4 * num_feat)):
            layers += [nn.Conv2d(channels, width, 3, 1 + index % 2, 1), nn.LeakyReLU(0.2)]
            channels = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).mean(dim=(2, 3))).squeeze(1)


def blurred_copies(hr: torch.Tensor, scale: int, blur: float) -> torch.Tensor:
    """``(1 − blur) x + blur · PD(bicubic↑(A x), A x)`` of ``(N, 3, H, W)`` in [0, 1]: same box means."""
    operator = AvgPool(scale)
    lr = operator.A(hr)
    smooth = operator.project(F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False), lr)
    return (1 - blur) * hr + blur * smooth


def noisy_copies(hr: torch.Tensor, scale: int, noise: float, generator: torch.Generator) -> torch.Tensor:
    """``x + noise · (I − A⁺A) n`` of ``(N, 3, H, W)`` in [0, 1], ``n`` standard normal from ``generator``."""
    operator = AvgPool(scale)
    n = torch.randn(hr.shape, generator=generator)
    return hr + noise * (n - operator.A_pinv(operator.A(n)))


def _rgb(path: Path) -> torch.Tensor:
    with Image.open(path) as image:
        return pil_to_tensor(image.convert("RGB"))


class NaturalnessTask(Task):
    """Photos (label 1) against as many copies (label 0), half blurred and half noisy, under the
    binary cross-entropy; validated by accuracy on fixed patches of the validation images."""

    keep_best = False  # validated by accuracy, not PSNR
    columns = ("val_accuracy",)

    def __init__(self, config: NaturalnessTrainConfig) -> None:
        self.config = config
        self.min_side = config.patch

    def prepare(self, images: list[torch.Tensor], val_files: list[Path], report: Report) -> None:
        self.images = images
        self.validation: tuple[torch.Tensor, torch.Tensor] | None = None
        if val_files:
            photos = [photo for photo in map(_rgb, val_files) if min(photo.shape[1:]) >= self.config.patch]
            if not photos:
                raise TrainError(f"no RGB validation image of at least {self.config.patch} pixels a side")
            generator = torch.Generator().manual_seed(self.config.seed)
            self.validation = self._labelled(photos, VALIDATION_PATCHES, generator)

    def _labelled(
        self, images: list[torch.Tensor], count: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        config = self.config
        hr = sample_batch(images, generator, count, config.patch) / 255
        half = count // 2
        blurred = blurred_copies(hr[:half], config.scale, config.blur)
        noisy = noisy_copies(hr[half:], config.scale, config.noise, generator)
        labels = torch.cat([torch.ones(count), torch.zeros(count)])
        return torch.cat([hr, blurred, noisy]), labels

    def build_net(self) -> nn.Module:
        return NaturalnessNet(self.config.num_feat)

    def initialize(self, net: nn.Module) -> None:
        """PyTorch's default initialisation (the SR one zeroes the last convolution, which suits a
        residual, not a classifier)."""

    def wrap(self, net: nn.Module) -> nn.Module:
        self.net = net
        return net

    def draw_batch(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self._labelled(self.images, self.config.batch, generator)

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(self.net(inputs), targets)

    def validate(self) -> dict[str, float]:
        if self.validation is None:
            return {}
        inputs, labels = self.validation
        with torch.inference_mode():
            verdicts = (self.net(inputs) > 0).float()
        return {"val_accuracy": (verdicts == labels).float().mean().item()}

    def header(self, row: dict[str, str]) -> dict[str, str]:
        accuracy = row.get("val_accuracy", "nan")
        return {"task": "naturalness", "scale": str(self.config.scale), "val_accuracy": accuracy}

    def export(self, out: Path, net: nn.Module, header: dict[str, str]) -> None:
        """safetensors with the format, the network's width and ``header`` (written atomically)."""
        assert isinstance(net, NaturalnessNet)
        metadata = {"format": FORMAT, "config": json.dumps({"num_feat": net.num_feat})} | header
        tensors = {key: value.detach().contiguous() for key, value in net.state_dict().items()}
        write_bytes_atomic(save(tensors, metadata=metadata), out, overwrite=True, make_folders=True)


def load_naturalness(path: Path, scale: int) -> NaturalnessNet:
    """The frozen classifier (eval mode, no gradients for its weights) written by
    ``srcli train naturalness`` at ``path``; refused unless it was trained for ×``scale``."""
    if not path.is_file():
        raise TrainError(f"naturalness weights not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (OSError, SafetensorError):
        metadata = {}
    if metadata.get("format") != FORMAT:
        raise TrainError(f"{path} is not a naturalness discriminator (made by srcli train naturalness)")
    if metadata.get("scale") != str(scale):
        raise TrainError(f"{path} judges x{metadata.get('scale')} outputs, not x{scale}")
    net = NaturalnessNet(**json.loads(metadata["config"]))
    net.load_state_dict(load_file(str(path)), strict=True)
    return net.eval().requires_grad_(False)


def train_naturalness(config: NaturalnessTrainConfig, resume: bool, report: Report = print) -> Path:
    """Train (or resume) a naturalness discriminator; writes its weights to ``config.out``."""
    return fit(NaturalnessTask(config), config, resume, report)
