"""Command line for ``prunus grn``."""

from __future__ import annotations

import argparse

from core.cli import CommandError, existing_file


def _todo(args: argparse.Namespace) -> int:
    raise CommandError("prunus grn: not available in this build yet")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("grn", help="grn module")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    fit = sub.add_parser("fit", help="fit")
    fit.add_argument("data", type=existing_file)
    fit.add_argument("--out", required=True)
    fit.set_defaults(func=_todo)


def register_demo(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="the main job: GRN fit on krumsiek11")
    parser.set_defaults(func=_todo)
