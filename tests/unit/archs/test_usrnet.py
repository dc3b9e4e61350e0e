"""USRNet: the closed-form data step (property tests against the degradation operator), the upstream
state-dict layout (round trip through a file, detection, sizes read off the shapes), the forward pass."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.archs import describe, detect
from srcli.archs.compact import SRVGGNetCompact
from srcli.archs.usrnet import CircularDegradation, USRNet, is_usrnet, usrnet_from_state_dict
from srcli.checkpoints.load import load_network, save_checkpoint
from srcli.maths.degradations import EIGEN_FLOOR, BlurDecimate

FULL = {"n_iter": 8, "h_nc": 64, "nc": (64, 128, 256, 512)}  # upstream's usrnet.pth; the default is usrnet_tiny.pth


def _problem(seed: int, scale: int, blocks: int, kernel_side: int, count: int = 2):
    generator = torch.Generator().manual_seed(seed)
    kernel = torch.rand(count, 1, kernel_side, kernel_side, generator=generator, dtype=torch.float64) + 0.05
    kernel = kernel / kernel.sum((-2, -1), keepdim=True)
    side = blocks * scale
    z = torch.rand(count, 3, side, side, generator=generator, dtype=torch.float64)
    y = torch.rand(count, 3, blocks, blocks, generator=generator, dtype=torch.float64)
    return kernel, z, y


@settings(max_examples=20, deadline=None)
@given(scale=st.integers(1, 4), blocks=st.integers(4, 9), side=st.sampled_from([1, 3, 5]), seed=st.integers(0, 2**31))
def test_data_step_is_the_projection_as_alpha_goes_to_zero(scale, blocks, side, seed):
    kernel, z, y = _problem(seed, scale, blocks, min(side, blocks * scale))
    degradation = CircularDegradation(kernel, scale, blocks * scale, blocks * scale)
    # α far below every eigenvalue the projection keeps (those above EIGEN_FLOOR × the largest), so that the
    # step's relative error α / λ stays negligible even for a nearly singular kernel
    values = degradation.eigenvalues.reshape(2, -1)
    kept = torch.where(values >= EIGEN_FLOOR * values.amax(1, keepdim=True), values, torch.inf).amin(1)
    stepped = degradation.step(z, y, (1e-9 * kept).view(2, 1, 1, 1))
    for image in range(2):  # per image, the operator srcli projects with (one kernel each)
        operator = BlurDecimate(kernel[image, 0], scale, blocks * scale, blocks * scale)
        y_reachable = operator.A(operator.A_pinv(y[image : image + 1]))  # floored components of y dropped
        assert torch.allclose(operator.A(z[image : image + 1]), degradation.A(z)[image : image + 1])
        assert torch.allclose(stepped[image : image + 1], operator.project(z[image : image + 1], y_reachable),
                              atol=1e-6)  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(scale=st.integers(1, 4), blocks=st.integers(3, 8), alpha=st.floats(1e-4, 1e3), seed=st.integers(0, 2**31))
def test_data_step_minimises_its_objective(scale, blocks, alpha, seed):
    kernel, z, y = _problem(seed, scale, blocks, min(3, blocks * scale))
    degradation = CircularDegradation(kernel, scale, blocks * scale, blocks * scale)
    weight = torch.full((2, 1, 1, 1), alpha, dtype=torch.float64)
    x = degradation.step(z, y, weight)
    gradient = degradation.At(degradation.A(x) - y) + weight * (x - z)  # of ½‖y − Ax‖² + ½α‖x − z‖²
    assert gradient.abs().max() < 1e-9 * (1 + alpha)
    assert torch.allclose((degradation.A(z) * y).sum(), (z * degradation.At(y)).sum())  # A and Aᵀ are adjoint


@settings(max_examples=20, deadline=None)
@given(alpha=st.floats(0.0, 10.0), seed=st.integers(0, 2**31))
def test_data_step_with_a_delta_kernel_at_scale_one_blends_towards_the_input(alpha, seed):
    _, z, y = _problem(seed, 1, 6, 1)
    delta = torch.ones(2, 1, 1, 1, dtype=torch.float64)
    weight = torch.full((2, 1, 1, 1), alpha + 1e-300, dtype=torch.float64)
    stepped = CircularDegradation(delta, 1, 6, 6).step(z, y, weight)
    assert torch.allclose(stepped, (y + alpha * z) / (1 + alpha))
    assert torch.allclose(CircularDegradation(delta, 1, 6, 6).step(y, y, weight), y)  # the input is kept


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_data_step_with_a_delta_kernel_sets_the_sampled_pixels(scale, generator):
    z = torch.rand(1, 3, 4 * scale, 4 * scale, generator=generator, dtype=torch.float64)
    y = torch.rand(1, 3, 4, 4, generator=generator, dtype=torch.float64)
    stepped = CircularDegradation(torch.ones(1, 1, 1, 1, dtype=torch.float64), scale, 4 * scale, 4 * scale).step(
        z, y, torch.full((1, 1, 1, 1), 1e-12, dtype=torch.float64)
    )
    sampled = torch.zeros_like(z, dtype=torch.bool)
    sampled[..., scale // 2 :: scale, scale // 2 :: scale] = True
    assert torch.allclose(stepped[..., scale // 2 :: scale, scale // 2 :: scale], y)
    assert torch.allclose(stepped[~sampled], z[~sampled])


def test_upstream_layout_and_sizes():
    tiny, full = USRNet(), USRNet(**FULL)
    assert sum(p.numel() for p in tiny.parameters()) == 590_332  # upstream's USRNet-tiny: 0.59 M
    assert sum(p.numel() for p in full.parameters()) == 17_016_016  # upstream's USRNet: 17.02 M
    shapes = {key: tuple(value.shape) for key, value in tiny.state_dict().items()}
    assert shapes["p.m_head.weight"] == (16, 4, 3, 3)
    assert shapes["p.m_down1.1.res.2.weight"] == (16, 16, 3, 3)
    assert shapes["p.m_down1.2.weight"] == (32, 16, 2, 2)  # the stride-2 convolution after nb blocks
    assert shapes["p.m_body.1.res.0.weight"] == (64, 64, 3, 3)
    assert shapes["p.m_up3.0.weight"] == (64, 64, 2, 2)  # ConvTranspose2d: (in, out, k, k)
    assert shapes["p.m_up1.2.res.2.weight"] == (16, 16, 3, 3)
    assert shapes["p.m_tail.weight"] == (3, 16, 3, 3)
    assert shapes["h.mlp.0.weight"] == (32, 2, 1, 1) and shapes["h.mlp.4.bias"] == (12,)
    assert not any(key.startswith("p.") and key.endswith(".bias") for key in shapes)  # the prior has no biases
    assert "p.m_body.res.0.weight" in USRNet(nb=1).state_dict()  # upstream unwraps a single block


@pytest.mark.parametrize("sizes", [{}, {"n_iter": 3, "h_nc": 8, "nc": (8, 8, 16, 24), "nb": 1}])
def test_checkpoint_round_trip_and_detection(tmp_path, sizes):
    torch.manual_seed(0)
    net = USRNet(**sizes)
    save_checkpoint(tmp_path / "usrnet.safetensors", net, {"task": "kernel"})
    loaded, header = load_network(tmp_path / "usrnet.safetensors")
    assert isinstance(loaded, USRNet) and loaded.config == net.config and header["arch"] == "usrnet"
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in net.state_dict().items())
    model = describe(loaded, "usrnet")
    assert (model.task, model.arch, model.scale) == ("kernel", "usrnet", 1)
    assert model.parameters == sum(p.numel() for p in net.parameters())


def test_full_size_detects_and_compact_does_not():
    state = USRNet(**FULL).state_dict()
    arch = detect(state)
    assert arch is not None and arch.name == "usrnet"
    assert usrnet_from_state_dict(state).config == USRNet(**FULL).config
    compact = SRVGGNetCompact(num_feat=8, num_conv=2).state_dict()
    assert not is_usrnet(compact) and not is_usrnet({**state, "extra.weight": torch.zeros(1)})


@pytest.mark.parametrize("scale", [1, 2, 3, 4])
def test_forward_gives_the_hr_size_for_any_scale(scale):
    torch.manual_seed(0)
    net = USRNet(n_iter=2, h_nc=8, nc=(4, 8, 8, 8), nb=1).eval()
    y = torch.rand(2, 3, 5, 7)
    kernel = F.pad(torch.ones(1, 1, 3, 3) / 9, (1, 1, 1, 1))
    with torch.no_grad():
        out = net(y, kernel, scale, torch.tensor([[[[0.01]]], [[[0.05]]]]))
    assert out.shape == (2, 3, 5 * scale, 7 * scale) and torch.isfinite(out).all()
