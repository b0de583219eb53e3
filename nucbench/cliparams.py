"""``KEY=VALUE`` command-line parameters, values read as YAML (``0.5``, ``true``, ``null``, ``[1, 2]``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nucbench.errors import ConfigError

__all__ = ["parse_key_values"]


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
