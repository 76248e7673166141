"""rubricate: one command line for guidelines, knowledge base, rubrics and evaluation.

Commands stay thin: each one parses options, calls the package that owns the job and
turns a ``RubricateError`` into a one-line message and a non-zero exit.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from guidelines.errors import RubricateError

ROOT = Path(__file__).resolve().parent


class _Group(click.Group):
    """Turns the project's own errors into a one-line message and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RubricateError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="rubricate")
def main() -> None:
    """Turn therapy guidelines into traceable rubrics and score LLM responses with them."""


# ---- guidelines ---------------------------------------------------------------------------


# ---- knowledge base -----------------------------------------------------------------------


# ---- extraction and review ----------------------------------------------------------------


# ---- compiler and exports -----------------------------------------------------------------


# ---- evaluation, trace, report, run -------------------------------------------------------


# ---- LLM judge, respond, stigma ------------------------------------------------------------


if __name__ == "__main__":
    sys.exit(main())
