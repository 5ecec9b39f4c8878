"""Command line for ``prunus fj``."""

from __future__ import annotations

import argparse

from core.cli import CommandError, existing_file


def _todo(args: argparse.Namespace) -> int:
    raise CommandError("prunus fj: not available in this build yet")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fj", help="fj module")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    fit = sub.add_parser("fit", help="fit")
    fit.add_argument("data", type=existing_file)
    fit.add_argument("--out", required=True)
    fit.set_defaults(func=_todo)
