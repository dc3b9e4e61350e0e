"""The ``srcli`` command line: parses, calls, reports. No math here; one module per command group."""

from __future__ import annotations

import faulthandler
from typing import Annotated

import typer

from srcli._version import __version__
from srcli.cli.check import check
from srcli.cli.colorize import colorize
from srcli.cli.common import OneLineErrors, error_boundary, state
from srcli.cli.cs import cs_app
from srcli.cli.degrade import degrade
from srcli.cli.models import models_app
from srcli.cli.openmp import choose_for_this_machine
from srcli.cli.project import project
from srcli.cli.sr import bench, deblur, upscale
from srcli.cli.train import train_app

app = typer.Typer(
    cls=OneLineErrors,
    help="Super-resolution, colorization and compressed sensing whose saved files are exactly consistent "
    "with their input. Results go to stdout (--json), progress and tables to stderr.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts use [default: ...] literally
    add_completion=False,
)
for command in (degrade, check, project, upscale, deblur, colorize, bench):
    app.command()(command)
app.add_typer(train_app, name="train")
app.add_typer(cs_app, name="cs")
app.add_typer(models_app, name="models")
for group in (app, train_app, cs_app, models_app):  # the one error boundary, around every command
    for registered in group.registered_commands:
        if registered.callback is not None:
            registered.callback = error_boundary(registered.callback)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"srcli {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    state["debug"] = debug


def main() -> None:
    """The ``srcli`` command: OpenMP's wait policy chosen for this machine (:mod:`srcli.cli.openmp`), a crash in
    native code (torch, libjpeg) made to print every thread's Python stack (what a bug report needs), then the app."""
    choose_for_this_machine()
    faulthandler.enable()
    app()
