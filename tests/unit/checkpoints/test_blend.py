"""``realism``: weights interpolate where the layouts match, outputs where they do not; the ends are the models."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from srcli.archs import describe
from srcli.archs.compact import SRVGGNetCompact
from srcli.archs.srresnet import SRResNet
from srcli.checkpoints.blend import OutputBlend, blend, interpolate_weights, same_layout
from srcli.errors import OptionError


def compact(seed: int, scale: int = 2, num_feat: int = 8):
    torch.manual_seed(seed)
    return SRVGGNetCompact(3, num_feat, 2, scale).eval()


def test_weights_interpolate_linearly():
    psnr, realistic = compact(0), compact(1)
    mixed = interpolate_weights(psnr, realistic, 0.25)
    for key, value in mixed.state_dict().items():
        expected = 0.75 * psnr.state_dict()[key].double() + 0.25 * realistic.state_dict()[key].double()
        assert torch.allclose(value.double(), expected, atol=1e-7)
    assert not torch.equal(psnr.body[0].weight, mixed.body[0].weight)  # the PSNR net itself is untouched


def test_the_ends_are_the_models_themselves():
    psnr, realistic = describe(compact(0), "psnr"), describe(compact(1), "gan")
    assert blend(psnr, realistic, 0.0) is psnr and blend(psnr, realistic, 1.0) is realistic


def test_layouts_that_differ_blend_their_outputs(generator):
    psnr = describe(compact(0), "psnr")
    torch.manual_seed(2)
    realistic = describe(SRResNet(num_feat=8, num_block=1, scale=2).eval(), "gan")
    assert not same_layout(psnr.net, realistic.net) and not same_layout(compact(0), compact(0, num_feat=4))
    mixed = blend(psnr, realistic, 0.3)
    assert isinstance(mixed.net, OutputBlend) and mixed.scale == 2
    assert mixed.parameters == psnr.parameters + realistic.parameters
    x = torch.rand(1, 3, 6, 5, generator=generator)
    with torch.inference_mode():
        expected = 0.7 * psnr.net(x) + 0.3 * realistic.net(x)
        assert torch.allclose(mixed.net(x), expected, atol=1e-6)


def test_matching_layouts_blend_their_weights():
    mixed = blend(describe(compact(0), "psnr"), describe(compact(1), "gan"), 0.5)
    assert isinstance(mixed.net, SRVGGNetCompact) and "realism 0.5" in mixed.name


@pytest.mark.parametrize("realism", [-0.1, 1.5])
def test_realism_outside_zero_to_one_is_refused(realism):
    with pytest.raises(OptionError, match="between 0 and 1"):
        blend(describe(compact(0)), describe(compact(1)), realism)


@pytest.mark.parametrize(
    ("psnr_correction", "realistic_correction", "blended"),
    [("nearest", "nearest", "nearest"), ("smooth", "smooth", "smooth"), ("smooth", "nearest", "smooth")],
)
@pytest.mark.parametrize("other_layout", [False, True])
def test_a_blend_keeps_the_correction_both_ends_were_trained_through(
    psnr_correction, realistic_correction, blended, other_layout
):
    realistic_net = SRResNet(num_feat=8, num_block=1, scale=2).eval() if other_layout else compact(1)
    psnr = replace(describe(compact(0), "psnr"), correction=psnr_correction)
    realistic = replace(describe(realistic_net, "gan"), correction=realistic_correction)
    assert blend(psnr, realistic, 0.5).correction == blended
