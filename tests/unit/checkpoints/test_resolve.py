"""``models.sr_plan``: the shipped model of a scale, a product cascade, or a larger scale resampled; the
models trained for a degradation first where they ship."""

from __future__ import annotations

import pytest

from srcli.checkpoints.resolve import factors, sr_plan
from srcli.errors import ModelError
from tests.manifests import install_manifest, tiny_sr_model


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    return {
        (scale, kind): tiny_sr_model(folder / f"{kind}-x{scale}.safetensors", scale, kind)
        for scale, kind in ((2, "box"), (3, "box"), (4, "box"), (8, "box"), (4, "bicubic"))
    }


def shipping(monkeypatch, tmp_path, weights, *which):
    install_manifest(monkeypatch, tmp_path, {f"{kind}-x{s}": (weights[s, kind], s, kind) for s, kind in which})


def plan_of(scale, degradation="box"):
    plan = sr_plan(None, scale, degradation)
    return [stage.name for stage in plan.stages], plan.estimate_scale


def test_factors_are_the_fewest_smallest_first():
    assert factors(8, {2, 4, 8}) == [8] and factors(8, {2, 4}) == [2, 4] and factors(16, {2, 4}) == [4, 4]
    assert factors(6, {2, 3}) == [2, 3] and factors(7, {2, 4, 8}) is None and factors(1, {2}) is None


def test_every_scale_from_2_to_8_with_x2_x4_x8_shipped(monkeypatch, tmp_path, weights):
    shipping(monkeypatch, tmp_path, weights, (2, "box"), (4, "box"), (8, "box"))
    expected = {2: (["box-x2"], 2), 3: (["box-x4"], 4), 4: (["box-x4"], 4), 5: (["box-x8"], 8),
                6: (["box-x8"], 8), 7: (["box-x8"], 8), 8: (["box-x8"], 8)}  # fmt: skip
    assert {scale: plan_of(scale) for scale in range(2, 9)} == expected
    plan = sr_plan(None, 5)
    assert plan.resampled and plan.describe() == "box-x8 (×8), resampled to ×5"
    assert not sr_plan(None, 8).resampled and sr_plan(None, None).scale == 4


def test_a_shipped_x3_is_used_and_makes_x6_a_cascade(monkeypatch, tmp_path, weights):
    shipping(monkeypatch, tmp_path, weights, (2, "box"), (3, "box"), (4, "box"), (8, "box"))
    assert plan_of(3) == (["box-x3"], 3)
    assert plan_of(6) == (["box-x2", "box-x3"], 6) and not sr_plan(None, 6).resampled
    assert plan_of(5) == (["box-x2", "box-x3"], 6)  # the next larger scale a product reaches
    assert plan_of(7) == (["box-x8"], 8)


def test_without_x8_the_cascade_is_resampled(monkeypatch, tmp_path, weights):
    shipping(monkeypatch, tmp_path, weights, (2, "box"), (4, "box"))
    assert plan_of(8) == (["box-x2", "box-x4"], 8) and plan_of(7) == (["box-x2", "box-x4"], 8)
    assert sr_plan(None, 7).describe() == "box-x2 (×2) → box-x4 (×4), resampled to ×7"


def test_a_model_trained_for_the_degradation_comes_first_where_one_ships(monkeypatch, tmp_path, weights):
    shipping(monkeypatch, tmp_path, weights, (2, "box"), (4, "box"), (8, "box"), (4, "bicubic"))
    assert plan_of(4) == (["box-x4"], 4)
    assert plan_of(4, "bicubic") == (["bicubic-x4"], 4) and plan_of(3, "bicubic") == (["bicubic-x4"], 4)
    assert plan_of(2, "bicubic") == (["box-x2"], 2) and plan_of(4, "gaussian") == (["box-x4"], 4)
    stage = sr_plan(None, 4, "bicubic").stages[0]
    assert stage.trained_on == "bicubic" and sr_plan(None, 2, "bicubic").stages[0].trained_on == "box"


def test_a_named_model_runs_alone_at_its_scale_or_resampled_below_it(weights):
    path = str(weights[4, "box"])
    assert sr_plan(path, None).scale == 4 and not sr_plan(path, None).resampled
    plan = sr_plan(path, 3)
    assert plan.resampled and plan.estimate_scale == 4 and plan.scale == 3
    with pytest.raises(ModelError, match=r"upscales ×4, but scale 8 was asked"):
        sr_plan(path, 8)


def test_a_scale_nothing_reaches_is_one_error(monkeypatch, tmp_path, weights):
    shipping(monkeypatch, tmp_path, weights, (3, "box"))
    assert plan_of(2) == (["box-x3"], 3)
    with pytest.raises(ModelError, match=r"no shipped model upscales ×10 \(shipped: ×3\)"):
        sr_plan(None, 10)  # 9 is below it, 27 beyond any scale srcli projects
    shipping(monkeypatch, tmp_path, weights)
    with pytest.raises(ModelError, match=r"no shipped model upscales ×4 \(shipped: none\)"):
        sr_plan(None, None)
