"""The Python API: only the names of ``srcli.__all__``, as a user of the package calls them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

import srcli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "starfish.png"


@pytest.fixture(scope="module")
def lr() -> Image.Image:
    return Image.open(EXAMPLE).convert("RGB").crop((0, 0, 24, 20))


def test_import_srcli_loads_neither_torch_nor_pillow():
    probe = "import sys, srcli; print(sorted({'torch', 'PIL'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_promised_name_is_there():
    for name in srcli.__all__:
        assert getattr(srcli, name) is not None, name
    assert set(srcli.__all__) <= set(dir(srcli))
    with pytest.raises(AttributeError):
        _ = srcli.not_a_name  # type: ignore[attr-defined]


def test_upscale_returns_an_image_consistent_with_its_input(lr):
    sr = srcli.upscale(lr, scale=2, device="cpu")
    assert isinstance(sr, Image.Image) and sr.size == (48, 40) and sr.mode == "RGB"
    assert sr.reduce(2).tobytes() == lr.tobytes()
    figures = srcli.check(sr, lr)
    assert figures["scale"] == 2 and figures["downsampler"] == "box" and figures["consistency_exact"]


def test_upscale_refuses_a_scale_naming_the_parameter(lr):
    with pytest.raises(srcli.OptionError, match=r"^scale must be an integer from 2 to 8, got 9$"):
        srcli.upscale(lr, scale=9)


def test_colorize_keeps_the_gray_exactly(lr):
    gray = lr.convert("L")
    color = srcli.colorize(gray, device="cpu")
    assert color.mode == "RGB" and color.size == gray.size
    channels = torch.frombuffer(bytearray(color.tobytes()), dtype=torch.uint8).view(-1, 3).to(torch.int64)
    mean = torch.div(2 * channels.sum(1) + 3, 6, rounding_mode="floor")  # the channel mean, rounded half up
    assert mean.tolist() == list(gray.tobytes())


def test_project_makes_any_upscale_exact(lr):
    bicubic = lr.resize((lr.width * 4, lr.height * 4), Image.Resampling.BICUBIC)
    assert not srcli.check(bicubic, lr)["consistency_exact"]
    projected = srcli.project(bicubic, lr)
    assert projected.reduce(4).tobytes() == lr.tobytes()
    figures = srcli.check(projected, lr, scale=4, downsampler="box")
    assert figures["consistency_exact"]


def test_project_refuses_sizes_that_are_no_multiple(lr):
    with pytest.raises(srcli.ImageError, match="not an integer multiple"):
        srcli.project(lr.resize((50, 41)), lr)


class TinyUpscaler(nn.Module):
    """A network srcli has never seen: nearest ×2 then two convolutions."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(8, 3, 3, padding=1))  # fmt: skip

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.body(y)


def test_pd_wrapped_around_a_foreign_network_trains_and_stays_consistent():
    generator = torch.Generator().manual_seed(0)
    operator = srcli.AvgPool(2)
    model = srcli.PDWrapper(TinyUpscaler(), operator)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    hr = torch.rand(4, 3, 16, 16, generator=generator)
    lr = operator.A(hr)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = (model(lr) - hr).abs().mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    with torch.no_grad():
        estimate = model(lr)
    assert torch.allclose(operator.A(estimate), lr, atol=1e-6)  # A(x̂) = y
    levels = (lr * 255).round().to(torch.int32)
    exact = srcli.quantize_sr(estimate * 255, levels, 2, 255)  # the exact quantiser: integers, A(x) = y exactly
    assert torch.equal(exact.view(4, 3, 8, 2, 8, 2).sum((3, 5)), levels * 4)


def test_the_readmes_python_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "the README's Python API section has a python example"
    monkeypatch.chdir(ROOT)
    exec(compile(code.group(1), "README.md", "exec"), {})
