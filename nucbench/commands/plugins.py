"""``nucbench plugins list``: what is registered, by kind, and which plugin registered it."""

from __future__ import annotations

import argparse
import json

from nucbench.plugins import get_plugin_manager
from nucbench.registry import KINDS


def add_parser(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("plugins", help="inspect registered plugins", parents=[common])
    sub = parser.add_subparsers(dest="plugins_command", metavar="ACTION", required=True)
    lister = sub.add_parser(
        "list", parents=[common], help="list registered entries",
        description="List registered plugin entries, sorted by kind and name.",
    )
    lister.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern on names, e.g. 'aji*'")
    lister.add_argument("--kind", help=f"only this kind ({', '.join(KINDS)})")
    lister.add_argument("--json", action="store_true", help="print a JSON array")
    lister.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    regs = get_plugin_manager().registries
    kinds = [regs[args.kind].kind] if args.kind else list(KINDS)
    entries = [e for k in kinds for e in regs[k].list(args.pattern)]
    if args.json:
        print(json.dumps([e.as_dict() for e in entries], indent=2))
        return 0
    if not entries:
        print("no entries match")
        return 0
    widths = [max(len(getattr(e, f)) for e in entries) for f in ("kind", "name", "plugin")]
    for e in entries:
        print(f"{e.kind:<{widths[0]}}  {e.name:<{widths[1]}}  {e.plugin:<{widths[2]}}  {e.description}")
    return 0
