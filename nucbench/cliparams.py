"""Command-line options shared by several subcommands.

``KEY=VALUE`` parameters (values read as YAML: ``0.5``, ``true``, ``null``, ``[1, 2]``) and the
executor options (``--executor``, ``--scheduler``, ``--workers``, ``--threads-per-worker``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from nucbench.errors import ConfigError, InputError

__all__ = ["parse_key_values", "add_executor_options", "executor_choice"]


def parse_key_values(items: Sequence[str], option: str = "--param") -> dict[str, Any]:
    """Parse ``["threshold=0.4", "name=otsu"]`` into ``{"threshold": 0.4, "name": "otsu"}``.

    Each value is parsed as YAML, so numbers, booleans and ``null`` get their type and anything
    else stays text; the registry then validates the parameters against the plugin's signature.

    Raises
    ------
    ConfigError
        For an item without ``=``, an empty key, a key given twice, or a value that is not YAML;
        the message names `option` and the item.

    Examples
    --------
    >>> parse_key_values(["threshold=0.4", "mode=fast", "verbose=true", "seed=null"])
    {'threshold': 0.4, 'mode': 'fast', 'verbose': True, 'seed': None}
    """
    import yaml

    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{option} {item!r}: expected KEY=VALUE")
        if key in params:
            raise ConfigError(f"{option} {item!r}: '{key}' is given twice")
        try:
            params[key] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as exc:
            problem = str(exc).splitlines()[0]
            raise ConfigError(f"{option} {item!r}: the value is not valid YAML ({problem})") from None
    return params


def add_executor_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *,
                         executor_help: str) -> None:
    """Add ``--executor`` and the Dask options (read back with :func:`executor_choice`)."""
    parser.add_argument("--executor", metavar="NAME", help=executor_help)
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run on this Dask scheduler (implies --executor dask)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="worker processes of the Dask LocalCluster (implies --executor dask; default 2)")
    parser.add_argument("--threads-per-worker", type=int, metavar="N",
                        help="threads per Dask worker process (default 1)")


def executor_choice(args: argparse.Namespace) -> tuple[str | None, dict[str, Any]]:
    """The executor named on the command line and the Dask options given.

    Returns
    -------
    name : str or None
        ``--executor``; else ``"dask"`` when a Dask option is given; else ``None`` (the caller's
        default).
    params : dict
        ``address``, ``n_workers``, ``threads_per_worker`` for the options given.

    Raises
    ------
    InputError
        If Dask options are given with another executor.
    """
    options = {"address": args.scheduler, "n_workers": args.workers,
               "threads_per_worker": args.threads_per_worker}
    given = {k: v for k, v in options.items() if v is not None}
    name = args.executor or ("dask" if given else None)
    if given and name.replace("_", "-").lower() != "dask":
        raise InputError("--scheduler, --workers and --threads-per-worker need --executor dask")
    return name, given
