"""Typed registries, one per plugin kind, in the manner of timm's model registry.

A plugin registers a *builder* under a kebab-case name: a class or factory function, or a lazy
``"module:object"`` string so that listing never imports torch. ``create`` validates the
parameters against the builder's signature (pydantic, unknown keys are errors with a suggestion),
drops parameters whose value is ``None`` (``None`` means "use the plugin's default"), calls the
builder, and checks that the result fits the kind's interface.

With ``bind=True`` the builder is a plain function on arrays (scikit-image style): its
parameters without a default are the data, those with a default are the options, and ``create``
returns the function with the options bound.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import inspect
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic

from nucbench.errors import ConfigError, RegistrationError, UnknownNameError, did_you_mean

__all__ = ["KINDS", "Entry", "Registry", "Registries", "normalise_name"]

#: Every plugin kind, in the order ``plugins list`` shows them.
KINDS: tuple[str, ...] = (
    "dataset",
    "pretext-task",
    "attention-backbone",
    "regularizer",
    "post-processor",
    "segmenter",
    "metric",
    "executor",
    "tracker",
)

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9_-]*)?$")


def normalise_name(name: str) -> str:
    """Registry key for a user-typed name: lower case, ``_`` accepted for ``-``.

    >>> normalise_name("Aji_Plus")
    'aji-plus'
    """
    return name.strip().lower().replace("_", "-")


@dataclass(frozen=True)
class Entry:
    """One registered plugin entry.

    Attributes
    ----------
    kind, name : str
        Registry kind and kebab-case name.
    builder : callable or str
        Class or factory, or a lazy ``"module:object"`` reference resolved on first use.
    plugin : str
        Name of the plugin (entry point, or file) that registered it.
    description : str
        One sentence, shown by ``nucbench plugins list``.
    bind : bool
        ``True`` when `builder` is a plain function whose defaulted parameters are options.
    metadata : mapping
        Data beside the builder (e.g. ``higher_is_better`` for a metric, a paper reference).
    """

    kind: str
    name: str
    builder: Callable[..., Any] | str
    plugin: str
    description: str
    bind: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def resolve(self) -> Callable[..., Any]:
        """Import a lazy builder and return the callable."""
        if not isinstance(self.builder, str):
            return self.builder
        module_name, _, attr = self.builder.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise RegistrationError(
                f"{self.kind} '{self.name}' (plugin {self.plugin}): cannot import its builder "
                f"'{self.builder}': {exc}"
            ) from exc
        return obj

    def parameters(self) -> dict[str, inspect.Parameter]:
        """Configurable parameters of the builder, by name."""
        return _option_parameters(self.resolve(), bind=self.bind)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view used by ``plugins list --json``."""
        return {
            "kind": self.kind,
            "name": self.name,
            "plugin": self.plugin,
            "description": self.description,
            "metadata": {k: v for k, v in self.metadata.items() if _is_jsonable(v)},
        }


def _is_jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | type(None) | list | tuple | dict)


def _signature_target(builder: Callable[..., Any]) -> Callable[..., Any]:
    return builder.__init__ if inspect.isclass(builder) else builder  # type: ignore[misc]


def _option_parameters(builder: Callable[..., Any], *, bind: bool) -> dict[str, inspect.Parameter]:
    params = inspect.signature(builder).parameters
    out = {}
    for p in params.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name == "self":
            continue
        if bind and p.default is p.empty:
            continue  # a data argument
        out[p.name] = p
    return out


@functools.cache
def _params_model(builder: Callable[..., Any], bind: bool) -> type[pydantic.BaseModel]:
    try:
        hints = typing.get_type_hints(_signature_target(builder))
    except Exception:  # forward references to optional heavy types: validate names only
        hints = {}
    fields: dict[str, Any] = {}
    for name, p in _option_parameters(builder, bind=bind).items():
        annotation = hints.get(name, Any)
        default = ... if p.default is p.empty else p.default
        fields[name] = (annotation, default)
    config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    model_name = f"Params_{getattr(builder, '__name__', 'builder')}"
    return pydantic.create_model(model_name, __config__=config, **fields)


class Registry:
    """Named builders of one plugin kind.

    Parameters
    ----------
    kind : str
        The kind, e.g. ``"metric"``; used in every message.
    check : callable, optional
        ``check(obj) -> str | None`` run on every created object; a string is the reason the
        object does not fit the kind's interface.
    required_metadata : tuple of str
        Metadata keys every entry must declare (e.g. ``higher_is_better`` for metrics).
    """

    def __init__(
        self,
        kind: str,
        *,
        check: Callable[[Any], str | None] | None = None,
        required_metadata: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self._check = check
        self._required_metadata = required_metadata
        self._entries: dict[str, Entry] = {}
        self.current_plugin = "<unknown>"

    def __contains__(self, name: str) -> bool:
        return normalise_name(name) in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        """Sorted registered names."""
        return sorted(self._entries)

    def register(
        self,
        name: str,
        builder: Callable[..., Any] | str,
        *,
        description: str | None = None,
        bind: bool = False,
        plugin: str | None = None,
        **metadata: Any,
    ) -> Entry:
        """Register `builder` under `name`.

        Raises
        ------
        RegistrationError
            If the name is not kebab-case, is taken by another builder (the message names both
            plugins), lacks required metadata, or a lazy builder has no description.
        """
        plugin = plugin or self.current_plugin
        if not _NAME_RE.match(name):
            raise RegistrationError(
                f"plugin {plugin}: {self.kind} name '{name}' must be lower-case kebab-case "
                "(letters, digits, '-'; a trained variant as 'name.tag')"
            )
        missing = [k for k in self._required_metadata if k not in metadata]
        if missing:
            raise RegistrationError(
                f"plugin {plugin}: {self.kind} '{name}' must declare {', '.join(missing)}"
            )
        if description is None:
            if isinstance(builder, str):
                raise RegistrationError(
                    f"plugin {plugin}: {self.kind} '{name}' is lazy ('{builder}'), so it needs "
                    "description=..."
                )
            description = (inspect.getdoc(builder) or "").strip().splitlines()[0:1]
            description = description[0] if description else ""
        entry = Entry(self.kind, name, builder, plugin, description, bind, dict(metadata))
        old = self._entries.get(name)
        if old is not None:
            if old.builder == builder:
                return old
            raise RegistrationError(
                f"{self.kind} '{name}' is registered twice: by plugin {old.plugin} and by plugin "
                f"{plugin}. Rename one of them."
            )
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> Entry:
        """Entry for `name` (``_`` accepted for ``-``).

        Raises
        ------
        UnknownNameError
            With the closest registered name.
        """
        key = normalise_name(name)
        try:
            return self._entries[key]
        except KeyError:
            hint = did_you_mean(key, self._entries)
            if not hint and 0 < len(self._entries) <= 12:
                hint = " Known: " + ", ".join(self.names()) + "."
            raise UnknownNameError(
                f"unknown {self.kind} '{name}'.{hint} (nucbench plugins list --kind {self.kind})"
            ) from None

    def list(self, pattern: str = "*") -> list[Entry]:
        """Entries whose name matches the fnmatch `pattern`, sorted by name."""
        pat = normalise_name(pattern)
        return [self._entries[n] for n in self.names() if fnmatch.fnmatchcase(n, pat)]

    def validate_params(self, name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate `params` for entry `name`; returns them with types coerced, ``None``\\s dropped.

        Raises
        ------
        ConfigError
            Naming the entry and the parameter, with a suggestion for a misspelt key.
        """
        entry = self.get(name)
        given = {k: v for k, v in (params or {}).items() if v is not None}
        builder = entry.resolve()
        model = _params_model(builder, entry.bind)
        allowed = list(model.model_fields)
        try:
            validated = model.model_validate(given)
        except pydantic.ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                top = str(err["loc"][0])
                hint = did_you_mean(top, allowed) or (
                    f" Parameters: {', '.join(allowed)}." if allowed else " It takes no parameters."
                )
                msg = f"{self.kind} '{entry.name}': unknown parameter '{top}'.{hint}"
            else:
                msg = (
                    f"{self.kind} '{entry.name}': parameter '{key}': {err['msg']} "
                    f"(got {err.get('input')!r})"
                )
            raise ConfigError(msg) from None
        return {k: getattr(validated, k) for k in given}

    def create(self, name: str, **params: Any) -> Any:
        """Build entry `name` with `params` (validated; ``None`` values dropped).

        Returns
        -------
        object
            What the builder returns; for a ``bind=True`` entry, the function with its options
            bound (``functools.partial``).
        """
        entry = self.get(name)
        kwargs = self.validate_params(name, params)
        builder = entry.resolve()
        obj = functools.partial(builder, **kwargs) if entry.bind else builder(**kwargs)
        if self._check is not None:
            problem = self._check(obj)
            if problem:
                raise RegistrationError(
                    f"{self.kind} '{entry.name}' (plugin {entry.plugin}) built "
                    f"{type(obj).__name__}, which {problem}"
                )
        return obj


class Registries:
    """One :class:`Registry` per kind; attribute access uses snake_case (``registries.post_processor``)."""

    def __init__(self, checks: Mapping[str, Callable[[Any], str | None]] | None = None,
                 required_metadata: Mapping[str, tuple[str, ...]] | None = None) -> None:
        checks = checks or {}
        required_metadata = required_metadata or {}
        self._by_kind = {
            kind: Registry(kind, check=checks.get(kind), required_metadata=required_metadata.get(kind, ()))
            for kind in KINDS
        }

    def __getitem__(self, kind: str) -> Registry:
        key = normalise_name(kind)
        if key not in self._by_kind:
            raise UnknownNameError(
                f"unknown plugin kind '{kind}'.{did_you_mean(key, KINDS)} Kinds: {', '.join(KINDS)}."
            )
        return self._by_kind[key]

    def __getattr__(self, attr: str) -> Registry:
        if attr.startswith("_"):
            raise AttributeError(attr)
        try:
            return self[attr]
        except UnknownNameError as exc:
            raise AttributeError(str(exc)) from None

    def __iter__(self) -> Iterator[Registry]:
        return iter(self._by_kind.values())

    def set_current_plugin(self, plugin: str) -> None:
        """Attribute registrations that follow to `plugin` (used by the plugin manager)."""
        for reg in self._by_kind.values():
            reg.current_plugin = plugin
