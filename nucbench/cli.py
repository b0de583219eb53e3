"""The ``nucbench`` command line.

Each subcommand lives in its own module under :mod:`nucbench.commands` and exposes
``add_parser(subparsers, common)``; the parser's ``func(args) -> int`` runs it. User errors
(:class:`~nucbench.errors.NucbenchError`) print one line and exit 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import nucbench.commands
from nucbench import __version__
from nucbench.errors import NucbenchError
from nucbench.plugins import get_plugin_manager

__all__ = ["main", "build_parser"]


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--plugin", action="append", default=argparse.SUPPRESS, metavar="PATH",
        help="load a plugin from a Python file (repeatable)",
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS,
        help="show the full traceback on errors",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with one subparser per module in :mod:`nucbench.commands`."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="nucbench",
        description="Benchmark label-free nuclei instance segmentation in H&E histopathology.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"nucbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(nucbench.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"nucbench.commands.{info.name}")
        module.add_parser(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        manager = get_plugin_manager()
        for path in getattr(args, "plugin", []) or []:
            manager.load_file(path)
        return int(args.func(args) or 0)
    except NucbenchError as exc:
        if debug:
            raise
        print(f"nucbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nucbench: interrupted", file=sys.stderr)
        return 130


def entry_point() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
