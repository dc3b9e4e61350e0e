"""The models that ship in weights/: listed with their metrics, intact, and exactly consistent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from srcli.checkpoints.hub import sha256_of
from srcli.checkpoints.manifest import load_manifest
from srcli.io.degradation_spec import downsample_rounded
from srcli.io.images import read_picture, write_picture
from srcli.tasks.degrade import noisy

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "starfish.png"
MOTION = "motion:9,30"


def test_models_list_shows_the_shipped_defaults_with_metrics(cli):
    records = [json.loads(line) for line in cli("models", "list", "--json").stdout.splitlines()]
    defaults = {r["scale"]: r for r in records if r["task"] == "sr" and r["default"] and r["degradation"] == "box"}
    assert 4 in defaults
    for record in defaults.values():
        assert record["location"] == "shipped"
        for name in ("Set5", "Set14", "BSD68"):
            assert record["metrics"][name]["psnr_y"] > record["metrics"][name]["bicubic_psnr_y"]
    jpeg = {r["scale"]: r for r in records if r["task"] == "sr" and r["default"] and r["degradation"] == "jpeg"}
    assert set(jpeg) == {2, 4}
    for record in jpeg.values():  # each beats the pixel-exact path on JPEG LRs, every saved file explaining its JPEG
        for name in ("Set5", "Set14", "BSD68"):
            q40 = record["metrics"][name]["jpeg_q40"]
            assert q40["psnr_y"] > q40["box_path_psnr_y"]
            done, images = map(int, q40["files_all_coefficients"].split("/"))
            assert done == images


def test_models_list_table_shows_every_task(cli):
    result = cli("models", "list")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert all(word in text for word in ("bicubic", "linear", "gray"))  # each task's baseline


@pytest.mark.parametrize("entry", [e for e in load_manifest() if e.shipped], ids=lambda e: e.name)
def test_shipped_files_match_the_manifest(entry):
    assert sha256_of(entry.shipped_path) == entry.sha256
    assert entry.shipped_path.stat().st_size == entry.size


SHIPPED_SR = [e for e in load_manifest() if e.task == "sr" and e.default and e.shipped]
SR_DEFAULTS = [e for e in SHIPPED_SR if e.degradation == "box"]
OTHER_LR_DEFAULTS = [e for e in SHIPPED_SR if e.degradation not in ("box", "jpeg")]  # trained on bicubic LR, say
JPEG_DEFAULTS = [e for e in SHIPPED_SR if e.degradation == "jpeg"]


@pytest.mark.parametrize("entry", SR_DEFAULTS, ids=lambda e: e.name)
def test_every_shipped_sr_default_upscales_the_example_exactly(cli, tmp_path, entry):
    """×4 is the README's command: ``srcli upscale examples/starfish.png --scale 4``."""
    output = tmp_path / f"starfish_x{entry.scale}.png"
    result = cli("upscale", EXAMPLE, "--scale", str(entry.scale), "-o", output, "--json", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == entry.name
    with Image.open(output) as upscaled, Image.open(EXAMPLE) as source:
        assert upscaled.reduce(entry.scale).tobytes() == source.tobytes()


@pytest.mark.parametrize("entry", OTHER_LR_DEFAULTS, ids=lambda e: e.name)
def test_a_shipped_default_for_another_lr_is_what_its_degradation_runs(cli, tmp_path, entry):
    output = tmp_path / f"starfish_x{entry.scale}.png"
    with Image.open(EXAMPLE) as photo:  # an LR made the way the model was trained for (Pillow's bicubic)
        lr = photo.convert("RGB").resize((photo.width // entry.scale, photo.height // entry.scale),
                                         Image.Resampling.BICUBIC)  # fmt: skip
    lr.save(tmp_path / "lr.png")
    args = ("--scale", str(entry.scale), "--degradation", entry.degradation, "-o", output, "--json", "-q")
    result = cli("upscale", tmp_path / "lr.png", *args)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    values = lr.width * lr.height * 3
    assert record["model"] == entry.name and record["lr_values_off"] * 1000 <= values  # ≥ 99.9 % exact


@pytest.mark.parametrize("entry", JPEG_DEFAULTS, ids=lambda e: e.name)
def test_a_shipped_default_for_jpeg_inputs_runs_on_a_jpeg_and_reproduces_its_file(cli, tmp_path, entry):
    with Image.open(EXAMPLE) as photo:  # the example saved as a camera would, at quality 50
        photo.convert("RGB").save(tmp_path / "photo.jpg", quality=50)
    output = tmp_path / "photo_x.png"
    result = cli("upscale", tmp_path / "photo.jpg", "--scale", str(entry.scale), "-o", output, "--json", "-q")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["model"] == entry.name and record["consistency"] == "jpeg"
    assert record["jpeg_coefficients_reproduced"] >= 0.999
    box = cli("upscale", tmp_path / "photo.jpg", "--scale", str(entry.scale), "--degradation", "box", "-o",
              tmp_path / "box.png", "--json", "-q")  # fmt: skip
    assert json.loads(box.stdout)["model"] != entry.name  # pixel-exact PD runs the box model


SHIPPED_KERNEL = [e for e in load_manifest() if e.task == "kernel" and e.default and e.shipped]


@pytest.mark.parametrize("entry", SHIPPED_KERNEL, ids=lambda e: e.name)
def test_the_shipped_deblurring_default_sharpens_a_blurred_example(cli, tmp_path, entry):
    """``srcli deblur`` with no --model: a motion-blurred, noisy copy of the example comes back closer to it, and
    the saved file, blurred again, is the input to within the noise and the rounding."""
    photo = read_picture(str(EXAMPLE))
    blurred = noisy(downsample_rounded(photo.channels(), 1, MOTION, 8), photo.channels(), 3, 1, MOTION, 2.0, 0, 255)
    write_picture(photo.with_channels(blurred), tmp_path / "blurred.png", overwrite=False)
    output = tmp_path / "sharp.png"
    result = cli("deblur", tmp_path / "blurred.png", "--kernel", MOTION, "--noise", "2", "-o", output, "--json", "-q")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["model"] == entry.name and record["residual_rms"] <= 1.2 * record["noise"]
    truth, sharp = photo.channels().double(), read_picture(str(output)).channels().double()
    assert (sharp - truth).square().mean() < (blurred.double() - truth).square().mean() / 2


CS_FLOORS = {0.1: 22.0, 0.25: 25.0, 0.5: 29.0}
"""Set5 and BSD68 PSNR (RGB) every shipped CS model must reach (DESIGN §6, first bar)."""


def test_a_cs_model_ships_for_every_ratio_with_metrics_above_the_floors():
    shipped = {e.ratio: e for e in load_manifest() if e.task == "cs" and e.default and e.shipped}
    assert set(shipped) == set(CS_FLOORS)
    for ratio, entry in shipped.items():
        for name in ("Set5", "BSD68"):
            metrics = entry.metrics[name]
            assert metrics["psnr"] >= CS_FLOORS[ratio]
            assert metrics["psnr"] > metrics["linear_psnr"] > metrics["adjoint_psnr"]
            assert metrics["min_float_consistency_db"] >= 100


@pytest.mark.parametrize("ratio", sorted(CS_FLOORS))
def test_shipped_cs_models_reconstruct_the_example(cli, tmp_path, ratio):
    measurements = tmp_path / "m.safetensors"
    assert cli("cs", "sample", EXAMPLE, "--ratio", ratio, "-o", measurements).exit_code == 0
    result = cli("cs", "reconstruct", measurements, "-o", tmp_path / "out.png", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["model"] == f"cs-{ratio}" and record["consistency_psnr_db"] >= 100
    with Image.open(tmp_path / "out.png") as out, Image.open(EXAMPLE) as source:
        assert out.size == source.size


def test_the_shipped_colorizer_beats_the_gray_copy_with_colour():
    entry = next(e for e in load_manifest() if e.task == "colorize" and e.default)
    bsd68 = entry.metrics["BSD68"]
    assert bsd68["psnr"] > bsd68["gray_copy_psnr"] and bsd68["colourfulness_ratio"] >= 0.5
    assert bsd68["exact_mean"] == bsd68["exact_bt601"] == f"{bsd68['images']}/{bsd68['images']}"


@pytest.mark.parametrize("gray", ["mean", "bt601"])
def test_shipped_colorizer_round_trips_the_example(cli, tmp_path, gray):
    output = tmp_path / "color.png"
    result = cli("colorize", EXAMPLE, "-o", output, "--gray", gray, "--json", "-q")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["model"] == "colorunet" and record["consistency_exact"] and record["colourfulness"] > 5
    with Image.open(output) as colour, Image.open(EXAMPLE) as source:
        if gray == "bt601":
            assert colour.convert("L").tobytes() == source.convert("L").tobytes()


@pytest.mark.parametrize("ratio", sorted(CS_FLOORS))
def test_shipped_cs_models_pass_their_floor_on_a_set5_image(shared_data, ratio):
    from srcli.checkpoints.resolve import cs_model
    from srcli.io.images import read_picture
    from srcli.maths.metrics import psnr
    from srcli.tasks.cs import reconstruct, sample_picture
    from srcli.tasks.run import RunOptions

    picture = read_picture(sorted((shared_data / "bench" / "Set5").iterdir())[0])
    values, info = sample_picture(picture, ratio, seed=0)
    model = cs_model(None, ratio, 0)
    estimate = reconstruct(values, info, model.net, RunOptions())[:, : info.height, : info.width]
    saved = (estimate.clamp(0, 1) * 255).round()
    assert psnr(saved, picture.color.double(), 255.0) >= CS_FLOORS[ratio]


def test_shipped_colorizer_is_exact_on_bsd68_images(cli, shared_data, tmp_path):
    images = sorted((shared_data / "bench" / "BSD68").iterdir())[:3]
    for gray in ("mean", "bt601"):
        out = tmp_path / gray
        result = cli("colorize", *images, "-o", out, "--gray", gray, "--json", "-q")
        assert result.exit_code == 0, result.output
        assert all(json.loads(line)["consistency_exact"] for line in result.stdout.splitlines())
        if gray == "bt601":
            for image in images:
                with Image.open(image) as source, Image.open(out / f"{image.stem}_color.png") as colour:
                    assert colour.convert("L").tobytes() == source.convert("L").tobytes()
