"""ColorUNet: its layout is recognised and rebuilt, it only chooses chroma, and it sees the whole picture."""

from __future__ import annotations

import pytest
import torch

from srcli.archs import describe, detect
from srcli.archs.colornet import ColorNet
from srcli.archs.colorunet import INPUT_MULTIPLE, ColorUNet, colorunet_from_state_dict


@pytest.mark.parametrize(("num_feat", "num_conv"), [(4, 1), (6, 3)])
def test_the_layout_is_recognised_and_rebuilt(num_feat, num_conv):
    torch.manual_seed(0)
    net = ColorUNet(num_feat, num_conv, temperature=0.7, saturation=1.3)
    state = net.state_dict()
    assert detect(state).name == "colorunet" and detect(ColorNet(4, 1).state_dict()).name == "colornet"
    rebuilt = colorunet_from_state_dict(state)
    rebuilt.load_state_dict(state, strict=True)
    assert rebuilt.config == net.config
    model = describe(net)
    assert model.task == "colorize" and model.whole and model.input_multiple == INPUT_MULTIPLE == 32


def test_it_only_chooses_chroma(generator):
    net = ColorUNet(4, 1).eval()
    gray = torch.rand(2, 1, 64, 96, generator=generator)
    with torch.no_grad():
        rgb = net(gray)
        logits = net.logits(gray)
    assert rgb.shape == (2, 3, 64, 96) and logits.shape == (2, net.bins.shape[0], 16, 24)
    assert torch.allclose(rgb.mean(1, keepdim=True), gray, atol=1e-6)


def test_a_far_pixel_changes_the_colour_of_every_other(generator):
    """The pooled feature reaches across the picture: ColorNet's 40 pixels could not."""
    torch.manual_seed(0)
    net = ColorUNet(4, 1).eval()
    gray = torch.rand(1, 1, 256, 256, generator=generator)
    changed = gray.clone()
    changed[..., -8:, -8:] = 1 - changed[..., -8:, -8:]
    with torch.no_grad():
        before, after = net.chroma(gray), net.chroma(changed)
    assert (before[..., :8, :8] - after[..., :8, :8]).abs().max() > 0
