"""Command line for ``prunus cascade``."""

from __future__ import annotations

import argparse

from core.cli import CommandError, existing_file


def _todo(args: argparse.Namespace) -> int:
    raise CommandError("prunus cascade: not available in this build yet")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cascade", help="cascade module")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    fit = sub.add_parser("fit", help="fit")
    fit.add_argument("data", type=existing_file)
    fit.add_argument("--out", required=True)
    fit.set_defaults(func=_todo)
