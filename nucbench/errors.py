"""Errors a user can cause.

Every error that a user can fix (a bad path, an unknown plugin, an invalid YAML field, a corrupt
image) is a :class:`NucbenchError`. The CLI prints its message on one line and exits with code 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "NucbenchError",
    "ConfigError",
    "InputError",
    "RegistrationError",
    "UnknownNameError",
    "did_you_mean",
]


class NucbenchError(Exception):
    """Base class of errors caused by user input; the message says which input and how to fix it."""


class ConfigError(NucbenchError):
    """A configuration file or value is invalid."""


class InputError(NucbenchError):
    """An input file or array is missing, unreadable or inconsistent."""


class RegistrationError(NucbenchError):
    """A plugin registered something invalid (a duplicate name, a bad hook implementation)."""


class UnknownNameError(NucbenchError, KeyError):
    """A name is not registered in the registry it was looked up in."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def did_you_mean(name: str, choices: Iterable[str], *, n: int = 1) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest of `choices`, or ``""`` when none is close.

    Examples
    --------
    >>> did_you_mean("ajii", ["aji", "pq"])
    " Did you mean 'aji'?"
    >>> did_you_mean("zzz", ["aji", "pq"])
    ''
    """
    matches = difflib.get_close_matches(name, list(choices), n=n, cutoff=0.6)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"
