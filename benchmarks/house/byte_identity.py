"""Byte identity of the commands' outputs: sha256 of every file upscale, colorize, cs and deblur write
(of a measurement file: of its tensors and sorted header, see :func:`digest`).

Runs the installed command line (``python -m srcli``) on 96×96 crops of two Set5 and two BSD68 images and
writes ``{output name: sha256}`` to a JSON file; two runs (say before and after a refactoring) must give
the same JSON. CPU only, about a minute.

    python benchmarks/house/byte_identity.py before.json
    python benchmarks/house/byte_identity.py after.json && cmp before.json after.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

DATA = Path("/work/shared/data/bench")
IMAGES = ["Set5/bird.png", "Set5/butterfly.png", "BSD68/101085.png", "BSD68/108005.png"]
SIDE = 96

# (name, arguments after ``srcli``; {src} is the input crop, {gray} its gray version, {out} the output)
RUNS = [
    ("x4", ["upscale", "{src}", "-s", "4", "-o", "{out}.png", "--device", "cpu"]),
    ("x2", ["upscale", "{src}", "-s", "2", "-o", "{out}.png", "--device", "cpu"]),
    ("x4-realism", ["upscale", "{src}", "-s", "4", "--realism", "0.5", "-o", "{out}.png", "--device", "cpu"]),
    ("x2-bicubic", ["upscale", "{src}", "-s", "2", "--degradation", "bicubic", "-o", "{out}.png", "--device", "cpu"]),
    ("color", ["colorize", "{gray}", "-o", "{out}.png", "--device", "cpu"]),
    ("cs", ["cs", "sample", "{src}", "--ratio", "0.25", "-o", "{out}.safetensors"]),
    ("cs-rec", ["cs", "reconstruct", "{prev}.safetensors", "-o", "{out}.png", "--device", "cpu"]),
    ("deblur", ["deblur", "{src}", "--kernel", "gaussian:1.2", "-o", "{out}.png", "--device", "cpu"]),
]


def crops(folder: Path) -> list[tuple[str, Path, Path]]:
    """The top-left SIDE×SIDE crop of each image, in RGB and in gray (channel mean)."""
    made = []
    for name in IMAGES:
        image = Image.open(DATA / name).convert("RGB").crop((0, 0, SIDE, SIDE))
        stem = name.replace("/", "-").removesuffix(".png")
        src, gray = folder / f"{stem}.png", folder / f"{stem}-gray.png"
        image.save(src)
        image.convert("L").save(gray)
        made.append((stem, src, gray))
    return made


def digest(path: Path) -> str:
    """sha256 of a file's bytes; of a safetensors file, of its tensors and its sorted header instead (safetensors
    writes the header's fields in a different order at each run, so the file's bytes differ run to run)."""
    if path.suffix != ".safetensors":
        return hashlib.sha256(path.read_bytes()).hexdigest()
    from safetensors import safe_open

    hashed = hashlib.sha256()
    with safe_open(str(path), "pt") as file:
        hashed.update(json.dumps(file.metadata(), sort_keys=True).encode())
        for key in sorted(file.keys()):
            hashed.update(key.encode() + file.get_tensor(key).numpy().tobytes())
    return hashed.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", type=Path, help="where to write {output: sha256}")
    args = parser.parse_args()
    digests: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for stem, src, gray in crops(folder):
            prev = ""
            for run, argv in RUNS:
                out = folder / f"{stem}-{run}"
                filled = [a.format(src=src, gray=gray, out=out, prev=prev) for a in argv]
                subprocess.run([sys.executable, "-m", "srcli", *filled], check=True, stdout=subprocess.DEVNULL)
                prev = str(out)
            for path in sorted(folder.glob(f"{stem}-*")):
                if path.name != f"{stem}-gray.png":
                    digests[path.name] = digest(path)
    args.json.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"{len(digests)} outputs hashed into {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
