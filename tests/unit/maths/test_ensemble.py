"""Self-ensemble: equivariant by construction, and a no-op for a network that already is."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.archs.compact import SRVGGNetCompact
from srcli.maths.ensemble import FLIPS, SelfEnsemble, transform


def random_net(seed: int) -> SRVGGNetCompact:
    torch.manual_seed(seed)
    net = SRVGGNetCompact(3, 4, 1, 2)
    torch.nn.init.normal_(net.body[-1].weight)  # the last conv is not zero: the net is not equivariant
    return net.eval()


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    height=st.integers(2, 9),
    width=st.integers(2, 9),
    flip=st.sampled_from(FLIPS),
    transpose=st.booleans(),
)
def test_ensemble_commutes_with_every_flip_and_transpose(seed, height, width, flip, transpose):
    ensemble = SelfEnsemble(random_net(seed))
    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed))
    with torch.inference_mode():
        moved_after = transform(ensemble(x), flip, transpose)
        moved_before = ensemble(transform(x, flip, transpose))
    assert torch.allclose(moved_after, moved_before, atol=1e-5)


def test_ensemble_of_an_equivariant_map_is_the_map_and_of_a_net_is_not_the_net():
    x = torch.rand(2, 3, 5, 6, generator=torch.Generator().manual_seed(1))
    nearest = SelfEnsemble(lambda t: F.interpolate(t, scale_factor=2, mode="nearest"))
    assert torch.allclose(nearest(x), F.interpolate(x, scale_factor=2, mode="nearest"))
    net = random_net(0)
    with torch.inference_mode():
        assert not torch.allclose(SelfEnsemble(net)(x), net(x), atol=1e-3)
