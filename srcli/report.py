"""What srcli tells the user: rich tables and hints on stderr, JSON Lines on stdout."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

stderr = Console(stderr=True, highlight=False)


def format_db(value: float | None) -> str:
    """``exact`` for an infinite PSNR, else the value with two decimals."""
    if value is None or math.isinf(value):
        return "exact (∞)"
    return f"{value:.2f} dB"


def print_json(record: Mapping[str, object]) -> None:
    """One JSON object on one line of stdout."""
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    stderr.print(table)


def note(message: str) -> None:
    """A hint on stderr (never mixed with results on stdout)."""
    stderr.print(message, markup=False)


def error(message: str) -> None:
    """One error line on stderr."""
    stderr.print(Text.assemble(("srcli: error: ", "bold red"), message), soft_wrap=True)
