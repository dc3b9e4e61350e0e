"""``srcli upscale``: exact consistency of every saved file, tiling, batches, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from srcli.archs.compact import SRVGGNetCompact
from srcli.archs.rrdbnet import RRDBNet
from srcli.archs.srresnet import SRResNet
from srcli.checkpoints.load import save_checkpoint
from srcli.io.images import Picture, read_picture, write_picture
from tests.images import pillow_channels, random_channels, save_8bit, save_png16, srgb_profile
from tests.manifests import install_manifest, tiny_sr_model


def random_model(path: Path, scale: int, arch: type = SRVGGNetCompact) -> Path:
    """A small random-initialised network whose output is far from consistent (PD must fix it)."""
    torch.manual_seed(scale)
    net = SRVGGNetCompact(3, 8, 2, scale) if arch is SRVGGNetCompact else arch(num_feat=8, num_block=1, scale=scale)
    save_checkpoint(path, net, {"task": "sr"})
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return {scale: random_model(folder / f"x{scale}.safetensors", scale) for scale in (2, 4)}


def smooth_channels(generator, channels: int, height: int, width: int, max_value: int = 255) -> torch.Tensor:
    noise = random_channels(generator, channels, height, width, max_value).double()
    smooth = F.avg_pool2d(noise.unsqueeze(0), 3, 1, 1, count_include_pad=False)[0]
    return smooth.round().to(torch.int32)


def reduces_to(output: Path, source: torch.Tensor, scale: int) -> bool:
    """The saved file's s×s means equal the input exactly: Pillow's ``reduce`` for 8-bit files.

    RGBA is reduced band by band: Pillow's ``reduce`` of a whole RGBA image premultiplies alpha,
    while srcli's operator (and so its guarantee) is the straight per-channel box mean.
    """
    picture = read_picture(output)
    if picture.bit_depth == 8:
        with Image.open(output) as image:
            bands = [band.reduce(scale) for band in image.split()]
        reduced = [pillow_channels_of(band) for band in bands]
        return torch.equal(torch.cat(reduced), source)
    means = F.avg_pool2d(picture.channels().double().unsqueeze(0), scale)[0]
    return torch.equal(means, source.double())


def pillow_channels_of(image: Image.Image) -> torch.Tensor:
    return torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).view(1, image.height, image.width).int()


KINDS = {
    "RGB": lambda g: (smooth_channels(g, 3, 21, 17), 8),
    "RGBA": lambda g: (smooth_channels(g, 4, 21, 17), 8),
    "L": lambda g: (smooth_channels(g, 1, 21, 17), 8),
    "RGB16": lambda g: (smooth_channels(g, 3, 13, 11, 65535), 16),
    "L16": lambda g: (smooth_channels(g, 1, 13, 11, 65535), 16),
}


def write_kind(path: Path, pixels: torch.Tensor, depth: int) -> Path:
    if depth == 16:
        return save_png16(path, pixels)
    return save_8bit(path, pixels)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("tile", ["0", "6"])
def test_saved_file_reduces_to_the_input(cli, models, tmp_path, generator, kind, scale, tile):
    pixels, depth = KINDS[kind](generator)
    source = write_kind(tmp_path / "in.png", pixels, depth)
    result = cli(
        "upscale",
        source,
        "--scale",
        scale,
        "--model",
        models[scale],
        "--tile",
        tile,
        "--tile-overlap",
        "3",
        "--json",
        "-q",
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    output = Path(record["output"])
    assert output.name == f"in_x{scale}.png"
    assert record["consistency_exact"] is True and record["consistency_psnr_db"] is None
    assert read_picture(output).bit_depth == depth
    assert reduces_to(output, pixels, scale)


def test_16bit_rgba_tiff_scan_stays_16_bit_and_exact(cli, models, tmp_path, generator):
    pixels = smooth_channels(generator, 4, 9, 8, 65535)
    write_picture(Picture(pixels[:3], pixels[3:], 16), tmp_path / "scan.tif", overwrite=False)
    args = ("--scale", "2", "--model", models[2], "--ext", "tiff", "--json", "-q")
    result = cli("upscale", tmp_path / "scan.tif", *args)
    assert result.exit_code == 0, result.output
    output = Path(json.loads(result.stdout)["output"])
    assert output.suffix == ".tiff" and read_picture(output).mode == "RGBA 16-bit"
    assert reduces_to(output, pixels, 2)


@pytest.mark.parametrize("kind", ["RGBA", "RGB16"])
def test_tiled_and_untiled_differ_by_at_most_one_level(cli, models, tmp_path, generator, kind):
    pixels, depth = KINDS[kind](generator)
    source = write_kind(tmp_path / "in.png", pixels, depth)
    cli("upscale", source, "--model", models[4], "--tile", "0", "-o", tmp_path / "whole.png", "-q")
    cli(
        "upscale",
        source,
        "--model",
        models[4],
        "--tile",
        "5",
        "--tile-overlap",
        "24",  # the net's receptive radius (4) and the smooth correction's reach (16)
        "-o",
        tmp_path / "tiled.png",
        "-q",
    )
    whole, tiled = read_picture(tmp_path / "whole.png"), read_picture(tmp_path / "tiled.png")
    assert (whole.channels().int() - tiled.channels().int()).abs().max() <= 1  # as integers: no uint8 wrap


@pytest.mark.parametrize("arch", [SRResNet, RRDBNet])
def test_other_architectures_are_detected_and_exact(cli, tmp_path, generator, arch):
    model = random_model(tmp_path / "net.safetensors", 2, arch)
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 9, 7))
    result = cli("upscale", source, "--scale", "2", "--model", model, "--tile", "4", "--json", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["consistency_exact"] is True


def test_pth_checkpoint_loads_without_pickle_code(cli, tmp_path, generator):
    torch.manual_seed(0)
    net = SRVGGNetCompact(3, 8, 2, 2)
    torch.save({"params": net.state_dict()}, tmp_path / "net.pth")
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 6, 6))
    result = cli("upscale", source, "--scale", "2", "--model", tmp_path / "net.pth", "--json", "-q")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("kind", ["RGBA", "L16"])
def test_self_ensemble_output_is_exact_and_not_the_plain_one(cli, models, tmp_path, generator, kind):
    pixels, depth = KINDS[kind](generator)
    source = write_kind(tmp_path / "in.png", pixels, depth)
    plain = cli("upscale", source, "--model", models[4], "--tile", "6", "-o", tmp_path / "plain.png", "-q")
    result = cli("upscale", source, "--model", models[4], "--tile", "6", "--ensemble", "--json", "-q")
    assert plain.exit_code == 0 and result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["ensemble"] is True and record["consistency_exact"] is True
    assert reduces_to(Path(record["output"]), pixels, 4)
    assert not torch.equal(read_picture(tmp_path / "plain.png").channels(), read_picture(record["output"]).channels())


def test_no_pd_reports_finite_consistency(cli, models, tmp_path, generator):
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 12, 12))
    result = cli("upscale", source, "--model", models[4], "--no-pd", "--json", "-q")
    record = json.loads(result.stdout)
    assert record["pd"] is False and record["consistency_exact"] is False
    assert record["consistency_psnr_db"] is not None and record["consistency_psnr_db"] < 60


def test_metadata_survives(cli, models, tmp_path, generator):
    source = save_8bit(
        tmp_path / "in.png", smooth_channels(generator, 4, 8, 8), icc_profile=srgb_profile(), dpi=(300, 300)
    )
    assert cli("upscale", source, "--model", models[2], "--scale", "2", "-q").exit_code == 0
    output = read_picture(tmp_path / "in_x2.png")
    assert output.icc_profile == srgb_profile() and output.alpha is not None
    assert output.dpi == pytest.approx((300, 300), abs=0.01)


def test_folder_with_bad_files_goes_on_and_exits_1(cli, models, tmp_path, generator):
    folder = tmp_path / "photos"
    folder.mkdir()
    good = save_8bit(folder / "good.png", smooth_channels(generator, 3, 10, 10))
    (folder / "corrupt.png").write_bytes(good.read_bytes()[:120])
    (folder / "notes.jpg").write_text("not an image at all")
    out = tmp_path / "out"
    result = cli("upscale", folder, "--model", models[4], "-o", out, "--json", "-q")
    assert result.exit_code == 1
    records = {Path(r["input"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert records["good.png"]["error"] is None
    assert "broken" in records["corrupt.png"]["error"] and "not an image" in records["notes.jpg"]["error"]
    assert sorted(p.name for p in out.iterdir()) == ["good_x4.png"]


def test_a_batch_whose_every_file_fails_is_bad_input_and_exits_2(cli, models, tmp_path, generator):
    """Exit 2 where nothing was written (a single input that fails included), 1 where some files were."""
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("not an image at all")
    single = cli("upscale", tmp_path / "empty.png", "--model", models[4], "-o", tmp_path / "x.png")
    assert single.exit_code == 2 and single.stderr.strip().splitlines()[-1].startswith("srcli: error:")
    every = cli("upscale", tmp_path / "empty.png", tmp_path / "notes.jpg", "--model", models[4], "--json", "-q")
    assert every.exit_code == 2 and len(every.stdout.splitlines()) == 2
    good = save_8bit(tmp_path / "good.png", smooth_channels(generator, 3, 6, 6))
    some = cli("upscale", good, tmp_path / "empty.png", "--model", models[4], "--json", "-q")
    assert some.exit_code == 1 and (tmp_path / "good_x4.png").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.png", "good.png", "good_x4.png", "notes.jpg"]


def test_a_second_run_over_a_folder_leaves_its_own_outputs_alone(cli, models, tmp_path, generator):
    save_8bit(tmp_path / "photo.png", smooth_channels(generator, 3, 6, 6))
    assert cli("upscale", tmp_path, "--model", models[2], "--scale", "2", "-q").exit_code == 0
    result = cli("upscale", tmp_path, "--model", models[2], "--scale", "2", "--skip-existing", "--json", "-q")
    assert result.exit_code == 0
    assert [json.loads(line)["input"] for line in result.stdout.splitlines()] == [str(tmp_path / "photo.png")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png", "photo_x2.png"]


def test_recursive_keeps_the_tree(cli, models, tmp_path, generator):
    (tmp_path / "in" / "a" / "b").mkdir(parents=True)
    save_8bit(tmp_path / "in" / "top.png", smooth_channels(generator, 3, 6, 6))
    save_8bit(tmp_path / "in" / "a" / "b" / "deep.png", smooth_channels(generator, 3, 6, 6))
    result = cli(
        "upscale",
        tmp_path / "in",
        "--model",
        models[2],
        "--scale",
        "2",
        "-o",
        tmp_path / "out",
        "--recursive",
        "--ext",
        "webp",
        "--suffix",
        "_big",
        "-q",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "top_big.webp").is_file() and (tmp_path / "out" / "a" / "b" / "deep_big.webp").is_file()


def test_existing_outputs_skip_or_refuse_or_overwrite(cli, models, tmp_path, generator):
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 6, 6))
    target = tmp_path / "in_x4.png"
    target.write_bytes(b"keep me")
    refused = cli("upscale", source, "--model", models[4], "--json", "-q")
    assert refused.exit_code == 2 and "--overwrite" in json.loads(refused.stdout)["error"]  # its only file failed
    skipped = cli("upscale", source, "--model", models[4], "--skip-existing", "--json", "-q")
    assert skipped.exit_code == 0 and json.loads(skipped.stdout)["skipped"] is True
    assert target.read_bytes() == b"keep me"
    assert cli("upscale", source, "--model", models[4], "--overwrite", "-q").exit_code == 0
    assert read_picture(target).width == 24


def test_stdin_to_stdout(cli, models, tmp_path, generator):
    data = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 6, 6)).read_bytes()
    result = cli("upscale", "-", "--model", models[2], "--scale", "2", "-o", "-", input=data)
    assert result.exit_code == 0
    (tmp_path / "out.png").write_bytes(result.stdout_bytes)
    assert read_picture(tmp_path / "out.png").width == 12


def test_scale_defaults_to_the_models_own(cli, models, tmp_path, generator):
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 6, 5))
    result = cli("upscale", source, "--model", models[2], "--json", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output_size"] == [10, 12]
    assert reduces_to(tmp_path / "in_x2.png", pillow_channels(source), 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "9"], "--scale must be an integer from 2 to 8, got 9"),
        (["--scale", "1"], "--scale must be an integer from 2 to 8, got 1"),
        (["--scale", "-3"], "--scale must be an integer from 2 to 8, got -3"),
        (["--model", "no-such-model"], "unknown model"),
        (["--model", "MODEL2", "--scale", "4"], "upscales ×2"),
        (["--tile", "-1"], "must not be negative"),
    ],
)
def test_bad_options_are_one_line_exit_2(cli, models, tmp_path, generator, args, message):
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 6, 6))
    args = [str(models[2]) if a == "MODEL2" else a for a in args]
    result = cli("upscale", source, *args)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "in_x4.png").exists()


def test_cascade_for_x8(monkeypatch, models, tmp_path, generator, cli):
    install_manifest(monkeypatch, tmp_path, {f"test-x{s}": (models[s], s, "box") for s in (2, 4)})
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 5, 7))
    result = cli("upscale", source, "--scale", "8", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["model"] == "test-x2 → test-x4" and record["output_size"] == [56, 40]
    assert record["estimate_scale"] == 8 and record["resample"] is None
    assert "PD at each stage" in result.stderr
    assert reduces_to(tmp_path / "in_x8.png", pillow_channels(source), 8)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """Tiny stand-ins for the shipped ×2, ×4 and ×8 defaults."""
    folder = tmp_path_factory.mktemp("shipped")
    return {f"tiny-x{s}": (tiny_sr_model(folder / f"x{s}.safetensors", s), s, "box") for s in (2, 4, 8)}


@pytest.mark.parametrize(("scale", "tile"), [*((s, "0") for s in range(2, 9)), (3, "4"), (7, "4")])
def test_every_scale_from_2_to_8_is_exact_and_says_what_ran(
    monkeypatch, shipped, tmp_path, generator, cli, scale, tile
):
    install_manifest(monkeypatch, tmp_path, shipped)
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 7, 5))
    result = cli("upscale", source, "--scale", scale, "--tile", tile, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    estimate = {3: 4, 5: 8, 6: 8, 7: 8}.get(scale, scale)
    assert record["model"] == f"tiny-x{estimate}" and record["output_size"] == [5 * scale, 7 * scale]
    assert (record["scale"], record["estimate_scale"]) == (scale, estimate)
    assert reduces_to(tmp_path / f"in_x{scale}.png", pillow_channels(source), scale)
    text = " ".join(result.stderr.split())
    if estimate != scale:
        assert record["resample"] == "bicubic" and record["tiles_as_untiled"] is True
        assert f"×{scale}: tiny-x{estimate} (×{estimate}), resampled to ×{scale}" in text
        assert f"×{scale}, resampled from ×{estimate} (bicubic)" in text  # the table's title names it too
    else:
        assert record["resample"] is None and "resampled" not in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where CUDA is absent")
def test_cuda_and_half_are_refused_clearly_without_cuda(cli, models, tmp_path, generator):
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 6, 6))
    result = cli("upscale", source, "--model", models[2], "--scale", "2", "--device", "cuda")
    assert result.exit_code == 2 and "no CUDA device" in result.stderr
    result = cli("upscale", source, "--model", models[2], "--scale", "2", "--half", "--device", "cpu")
    assert result.exit_code == 2 and "--half needs a CUDA device" in result.stderr


def test_output_larger_than_the_input_guard_is_measured(cli, models, tmp_path, generator, monkeypatch):
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 12, 12))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # the input (144 px) passes, the ×4 output would not
    result = cli("upscale", source, "--model", models[4], "--json", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["consistency_exact"] is True
    assert Image.MAX_IMAGE_PIXELS == 1000


def test_tile_zero_means_one_tile_and_auto_is_the_default(cli, models, tmp_path, generator):
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 300, 20))
    whole = json.loads(
        cli("upscale", source, "--model", models[2], "--scale", "2", "--tile", "0", "--json", "-q").stdout
    )
    assert whole["tile"] == 300
    auto = json.loads(
        cli("upscale", source, "--model", models[2], "--scale", "2", "--json", "-q", "--overwrite").stdout
    )
    assert auto["tile"] == 256


def test_auto_tile_follows_free_memory(monkeypatch):
    from srcli.maths import tiling

    cpu = torch.device("cpu")
    monkeypatch.setattr(tiling, "available_memory", lambda device: 64 << 30)
    assert tiling.auto_tile(cpu, 48, 4) == 256
    monkeypatch.setattr(tiling, "available_memory", lambda device: 8 << 20)
    small = tiling.auto_tile(cpu, 48, 4)
    assert tiling.MIN_TILE <= small < 256 and small**2 * 4 * (4 * 48 + 2 * 3 * 16) <= (8 << 20) / 4
    monkeypatch.setattr(tiling, "available_memory", lambda device: None)
    assert tiling.auto_tile(cpu, 48, 4) == 256


@pytest.mark.parametrize(("name", "command"), [("colornet", "srcli colorize"), ("cs-0.25", "srcli cs reconstruct")])
def test_a_model_of_another_task_is_refused_in_one_line(cli, tmp_path, generator, name, command):
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 6, 6))
    result = cli("upscale", source, "--scale", "2", "--model", name)
    assert result.exit_code == 2
    assert f"{name} is a" in result.stderr and command in result.stderr
    assert not (tmp_path / "in_x2.png").exists()


@pytest.mark.parametrize("kind", ["L16"])  # RGBA at 8 bits: tests/unit/tasks/test_sr.py
def test_either_correction_is_exact_and_named_in_the_report(cli, models, tmp_path, generator, kind):
    pixels, depth = KINDS[kind](generator)
    source = write_kind(tmp_path / "in.png", pixels, depth)
    records = {}
    for correction in ("nearest", "smooth"):
        out = tmp_path / f"{correction}.png"
        result = cli("upscale", source, "--model", models[2], "--tile", "6", "--correction", correction,
                     "-o", out, "--json", "-q")  # fmt: skip
        assert result.exit_code == 0, result.output
        records[correction] = json.loads(result.stdout)
        assert records[correction]["correction"] == correction and reduces_to(out, pixels, 2)
    assert not torch.equal(read_picture(tmp_path / "nearest.png").channels(), read_picture(out).channels())
    default = cli("upscale", source, "--model", models[2], "-o", tmp_path / "default.png", "--json", "-q")
    assert json.loads(default.stdout)["correction"] == "smooth"  # not trained through PD by srcli


def test_a_receptive_field_wider_than_the_overlap_is_blended_and_said(cli, tmp_path, generator):
    model = random_model(tmp_path / "rrdb.safetensors", 2, RRDBNet)
    source = save_8bit(tmp_path / "in.png", smooth_channels(generator, 3, 16, 12))
    result = cli("upscale", source, "--model", model, "--tile", "8", "--tile-overlap", "6", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["tile_overlap"] == [6] and record["tile_feather"] == [3] and record["consistency_exact"]
    assert record["tiles_as_untiled"] is False and "receptive radius" in result.stderr
    whole = cli("upscale", source, "--model", model, "--tile", "0", "-o", tmp_path / "whole.png", "--json", "-q")
    assert json.loads(whole.stdout)["tiles_as_untiled"] is True


def test_quality_sets_jpeg_and_lossy_webp_and_is_refused_for_png(cli, models, tmp_path, generator):

    source = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 24, 24))
    sizes = {}
    for name, extra in (("default.jpg", ()), ("q20.jpg", ("--quality", "20")), ("lossless.webp", ()),
                        ("q20.webp", ("--quality", "20"))):  # fmt: skip
        result = cli("upscale", source, "--model", models[2], "--scale", "2", "-o", tmp_path / name, "-q", *extra)
        assert result.exit_code == 0, result.output
        sizes[name] = (tmp_path / name).stat().st_size
    assert sizes["q20.jpg"] < sizes["default.jpg"] and sizes["q20.webp"] < sizes["lossless.webp"]
    with Image.open(tmp_path / "q20.webp") as lossy, Image.open(tmp_path / "lossless.webp") as lossless:
        assert lossy.tobytes() != lossless.tobytes()
    refused = cli("upscale", source, "--model", models[2], "--scale", "2", "-o", tmp_path / "x.png", "--quality", "80")
    assert refused.exit_code == 2 and "--quality is for JPEG or WebP" in refused.stderr
    assert not (tmp_path / "x.png").exists()


def test_png_compression_changes_bytes_never_pixels(cli, models, tmp_path, generator):
    source = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 20, 16))
    outputs = {}
    for level in ("0", "9"):
        target = tmp_path / f"out{level}.png"
        result = cli("upscale", source, "--model", models[2], "--png-compression", level, "-o", target, "-q")
        assert result.exit_code == 0, result.output
        outputs[level] = target
    assert outputs["0"].stat().st_size > outputs["9"].stat().st_size
    assert torch.equal(read_picture(outputs["0"]).channels(), read_picture(outputs["9"]).channels())
    refused = cli("upscale", source, "--model", models[2], "--png-compression", "10", "-o", tmp_path / "x.png")
    assert refused.exit_code == 2


@pytest.mark.parametrize(
    ("value", "bf16_cpu", "path"),
    [
        (None, True, "eager channels_last, bfloat16 autocast"),
        (None, False, "eager channels_last"),
        ("fp32", True, "eager channels_last"),
        ("0", True, "eager (SRCLI_ACCELERATE=0)"),
    ],
)
def test_srcli_accelerate_chooses_the_network_path_and_the_record_names_it(
    cli, models, tmp_path, generator, monkeypatch, value, bf16_cpu, path
):
    monkeypatch.setattr("srcli.tasks.run.cpu_computes_bf16", lambda: bf16_cpu)
    if value is None:
        monkeypatch.delenv("SRCLI_ACCELERATE", raising=False)
    else:
        monkeypatch.setenv("SRCLI_ACCELERATE", value)
    pixels = smooth_channels(generator, 3, 12, 10)
    source = save_8bit(tmp_path / "in.png", pixels)
    result = cli("upscale", source, "--model", models[2], "--json", "-q", "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["network_path"] == path and record["consistency_exact"] is True
    assert reduces_to(tmp_path / "out.png", pixels, 2)
