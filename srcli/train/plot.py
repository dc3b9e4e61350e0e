"""A small line chart drawn with Pillow (no plotting dependency), for convergence curves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
Series = tuple[str, Sequence[tuple[float, float]]]


def tick_labels(low: float, high: float, count: int) -> list[str]:
    """``count`` evenly spaced labels from ``low`` to ``high`` (``high > low``), with the fewest
    decimals that keep neighbours apart (a curve that moves 0.01 dB gets 36.971, 36.973, …)."""
    step = (high - low) / (count - 1)
    decimals = max(0, math.ceil(-math.log10(step)))
    return [f"{low + step * i:.{decimals}f}" for i in range(count)]


def line_chart(series: Sequence[Series], path: Path, title: str, x_label: str, y_label: str) -> None:
    """Write a PNG line chart of ``(label, [(x, y), ...])`` series to ``path``."""
    width, height, margin = 900, 560, 70
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    points = [p for _, values in series for p in values]
    if not points:
        return
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    pad = (y1 - y0) * 0.05
    y0, y1 = y0 - pad, y1 + pad

    def to_pixel(x: float, y: float) -> tuple[float, float]:
        px = margin + (x - x0) / (x1 - x0) * (width - 2 * margin)
        py = height - margin - (y - y0) / (y1 - y0) * (height - 2 * margin)
        return px, py

    draw.rectangle([margin, margin, width - margin, height - margin], outline="black")
    for i, y_tick in enumerate(tick_labels(y0, y1, 6)):
        gx = x0 + (x1 - x0) * i / 5
        gy = y0 + (y1 - y0) * i / 5
        px, _ = to_pixel(gx, y0)
        _, py = to_pixel(x0, gy)
        draw.line([px, height - margin, px, height - margin + 5], fill="black")
        draw.text((px - 15, height - margin + 8), f"{gx:.0f}", fill="black")
        draw.line([margin - 5, py, margin, py], fill="black")
        draw.text((8, py - 6), y_tick, fill="black")
    draw.text((width / 2 - 60, 20), title, fill="black")
    draw.text((width / 2 - 20, height - 25), x_label, fill="black")
    draw.text((8, margin - 30), y_label, fill="black")
    for index, (label, values) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        pixels = [to_pixel(x, y) for x, y in values]
        if len(pixels) > 1:
            draw.line(pixels, fill=colour, width=2)
        for px, py in pixels:
            draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=colour)
        draw.text((width - margin - 220, margin + 10 + 16 * index), f"-- {label}", fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
