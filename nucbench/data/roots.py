"""Where datasets live: a ``root`` parameter, else the ``NUCBENCH_DATA`` environment variable."""

from __future__ import annotations

import os
from pathlib import Path

from nucbench.errors import ConfigError, InputError

__all__ = ["DATA_ENV", "resolve_data_root"]

#: Environment variable naming the folder that holds the datasets (e.g. the one containing ``monuseg/``).
DATA_ENV = "NUCBENCH_DATA"


def resolve_data_root(root: str | os.PathLike[str] | None, *, dataset: str) -> Path:
    """The dataset folder: `root` if given, else ``$NUCBENCH_DATA``; it must exist.

    A relative `root` is taken relative to ``$NUCBENCH_DATA`` when that is set, else to the
    current directory. The path is never hard-coded in the product.

    Parameters
    ----------
    root : str or path-like or None
        The ``root`` parameter of the dataset.
    dataset : str
        Dataset name, for messages.

    Raises
    ------
    ConfigError
        If neither `root` nor ``$NUCBENCH_DATA`` is given.
    InputError
        If the folder does not exist (the message names it).
    """
    env = os.environ.get(DATA_ENV)
    if root is None or str(root) == "":
        if not env:
            raise ConfigError(
                f"dataset '{dataset}': no data folder; pass root=<folder> (params.root in YAML) or set "
                f"{DATA_ENV}=<folder>"
            )
        path = Path(env).expanduser()
    else:
        path = Path(root).expanduser()
        if not path.is_absolute() and env:
            path = Path(env).expanduser() / path
    if not path.is_dir():
        source = "root" if root not in (None, "") else DATA_ENV
        raise InputError(f"{path}: dataset '{dataset}' folder not found (from {source})")
    return path
