"""The integer round trip by hand: the value-by-value repair on one-row degradations with dyadic weights (exact in
float64), where the level each HR pixel must reach is worked out on paper; the repair's threshold; the estimate's
clipping; the float-rounded resize clipped like Pillow's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from srcli.maths.degradations import Resize
from srcli.maths.round_trip import RoundedResize, _repair, round_trip

WEIGHTS = [0.125, 0.5, 0.375]  # one LR value from three HR pixels; the middle one weighs most, then the right


def _row(cols: list[list[float]]) -> RoundedResize:
    """A one-row degradation (``rows = [[1]]``) with the given column weights, rounded half up to 8 bits."""
    return RoundedResize(Resize(torch.tensor([[1.0]]), torch.tensor(cols)), 255, pillow=False)


@pytest.mark.parametrize(
    ("hr", "lr", "repaired"),
    [
        ([8, 8, 8], 9, [8, 9, 8]),  # 8.5 rounds half up: one level on the heaviest pixel
        ([8, 8, 8], 10, [8, 11, 8]),  # 9.5 needs three levels
        ([8, 9, 8], 8, [8, 8, 8]),  # 8.5 → 8.0: one level down
        ([0, 1, 0], 0, [0, 0, 0]),  # down to 0 exactly
        ([255, 254, 254], 255, [255, 255, 254]),  # 254.125 → 254.625: up to 255 exactly
        ([255, 255, 200], 235, [255, 255, 201]),  # the heaviest is at 255: the next one, 234.375 → 234.75
    ],
)
def test_repair_moves_the_heaviest_pixel_that_can_by_the_fewest_levels(hr, lr, repaired):
    reference = _row([WEIGHTS])
    image, y = torch.tensor([[hr]]), torch.tensor([[[lr]]])
    assert _repair(image, y, reference) == 0
    assert image.tolist() == [[repaired]]


def test_repair_does_not_break_a_neighbour():
    """LR 1 is ``0.625 x2 + 0.375 x3``; x2 also weighs 0.375 in LR 0 (at 8.25): any step up of x2 that fixes LR 1
    turns LR 0 to 9, so the repair leaves x2 and moves x3 by two levels (8.75). LR 2 and 3 are single pixels."""
    reference = _row([[0.125, 0.5, 0.375, 0, 0, 0], [0, 0, 0.625, 0.375, 0, 0], [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1]])
    image, y = torch.tensor([[[10, 8, 8, 8, 50, 60]]]), torch.tensor([[[8, 9, 50, 60]]])
    assert _repair(image, y, reference) == 0
    assert image.tolist() == [[[10, 8, 8, 10, 50, 60]]]


def test_repair_leaves_the_image_as_it_was_where_it_cannot_fix_a_value():
    """20 is out of reach of 16 levels on any one pixel (at most 8 on the heaviest)."""
    image = torch.tensor([[[0, 0, 0]]])
    assert _repair(image, torch.tensor([[[20]]]), _row([WEIGHTS])) == 1
    assert image.tolist() == [[[0, 0, 0]]]


def _off_by_one(y: torch.Tensor, count: int) -> torch.Tensor:
    wrong = y.clone().flatten()
    wrong[:count] = torch.where(wrong[:count] < 255, wrong[:count] + 1, wrong[:count] - 1)
    return wrong.view(y.shape)


@pytest.mark.parametrize(("lr_side", "wrong", "repaired"), [(8, 64, True), (8, 65, False), (30, 200, True),
                                                            (30, 300, False)])  # fmt: skip
def test_the_repair_runs_while_at_most_a_tenth_of_the_values_or_64_are_wrong(lr_side, wrong, repaired, monkeypatch):
    """``steps=0``: the rounded estimate goes straight to the repair, with exactly ``wrong`` of the LR values off;
    3 × 8 × 8 LR values allow 64, 3 × 30 × 30 allow 270."""
    operator = Resize.of("box", 2, 2 * lr_side, 2 * lr_side)
    reference = RoundedResize(operator, 255, pillow=False)
    hr = torch.randint(0, 256, (3, 2 * lr_side, 2 * lr_side), generator=torch.Generator().manual_seed(lr_side))
    y = _off_by_one(reference(hr), wrong)
    calls = []

    def counted(image: torch.Tensor, target: torch.Tensor, ref: RoundedResize) -> int:
        calls.append(1)
        return int((ref(image) != target).sum())

    monkeypatch.setattr("srcli.maths.round_trip._repair", counted)
    image, missed = round_trip(hr.double(), y, reference, steps=0)
    assert missed == wrong and image.dtype == torch.int64 and torch.equal(image, hr)
    assert bool(calls) == repaired


def test_without_float_steps_the_estimate_is_rounded_and_clipped(generator):
    """Values beyond the range round to 0 and 255: the consistent image comes back as it is."""
    reference = RoundedResize(Resize.of("box", 2, 8, 8), 255, pillow=False)
    hr = torch.randint(0, 256, (3, 8, 8), generator=generator)
    hr[0, :2, :2], hr[1, 4:, 4:] = 0, 255
    estimate = hr.double() + 0.6 * torch.rand(hr.shape, generator=generator, dtype=torch.float64) - 0.3
    estimate[hr == 0], estimate[hr == 255] = -3.4, 258.2
    image, missed = round_trip(estimate, reference(hr), reference, steps=0)
    assert missed == 0 and image.dtype == torch.int64 and torch.equal(image, hr)


def test_float_rounded_bicubic_clips_its_overshoot_like_pillow():
    """Bicubic's negative lobes overshoot a 0/255 stripe pattern by over 3 levels each way; rounded and clipped
    to 8 bits the result is Pillow's own resize (the stripes run down the image, so Pillow's first pass, across,
    does all the work and its second is exact), whole or a block at a time."""
    columns = (torch.arange(16) // 4 % 2 * 255).expand(12, 16)
    image = torch.stack([columns, 255 - columns])
    reference = RoundedResize(Resize.of("bicubic", 2, 12, 16), 255, pillow=False)
    floats = reference.floats(image)
    assert floats.min() < -3 and floats.max() > 258
    pillow = torch.stack([torch.from_numpy(np.asarray(Image.fromarray(channel.numpy().astype(np.uint8))
                                                      .resize((8, 6), Image.Resampling.BICUBIC)).astype(np.int64))
                          for channel in image])  # fmt: skip
    stored = reference(image)
    assert stored.dtype == torch.int64 and torch.equal(stored, pillow)
    assert stored.min() == 0 and stored.max() == 255
    for channel in range(2):
        block = reference.at(image, channel, slice(1, 4), slice(0, 8))
        assert block.dtype == torch.int64 and torch.equal(block, pillow[channel, 1:4])
