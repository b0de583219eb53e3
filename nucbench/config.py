"""Configuration as data: pydantic models for components, experiments and suites.

Every model forbids unknown keys; :func:`load_config` turns a validation failure into one
message naming the file, the dotted key path and the allowed keys (with a "did you mean").
A YAML file may ``include:`` another (path relative to itself) and override its fields, as
lm-evaluation-harness task files do.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Literal, TypeVar

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from nucbench.errors import ConfigError, InputError, did_you_mean

__all__ = [
    "StrictModel",
    "ComponentSpec",
    "OptimizerConfig",
    "ExperimentConfig",
    "DatasetSpec",
    "MethodSpec",
    "SuiteConfig",
    "load_config",
    "load_yaml",
    "format_validation_error",
]

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class ComponentSpec(StrictModel):
    """A plugin to build: registered ``name`` and its ``params``.

    In YAML a bare string is accepted for a component without parameters: ``metrics: [aji, pq]``.
    """

    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


Precision = Literal["auto", "fp32", "bf16", "fp16"]


class OptimizerConfig(StrictModel):
    """Adam settings; defaults are the paper's (lr 2e-4, weight decay 1e-4, β1 0.9)."""

    lr: float = 2e-4
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)


class ExperimentConfig(StrictModel):
    """A training run of a self-supervised method (``nucbench train CONFIG.yaml``).

    ``output_dir`` is relative to the YAML file's folder; the run writes to ``output_dir/name``.
    ``tuning`` is the grid of post-processor parameters tried on the validation tiles after
    training (mean AJI); with ``tune_polarity`` the grid is also tried on the attention of the
    negated confidence (an F that lights up everything but the nuclei: its least confident pixels
    become the attended ones) and the sign with the higher validation AJI is kept; each epoch
    then also records the validation Dice of that negated attention, and the best epoch is the
    one with the higher of the two Dices.
    ``held_out_batches`` batches of validation crops give the held-out pretext accuracy each
    epoch. ``tracking: {name: mlflow, params: {uri, experiment}}`` logs parameters, metrics and
    the best checkpoint to MLflow.
    """

    name: str = "experiment"
    seed: int = 0
    pretext_task: ComponentSpec = ComponentSpec(name="scale-classification")
    backbone: ComponentSpec = ComponentSpec(name="dilated-resnet")
    regularizers: list[ComponentSpec] = Field(default_factory=list)
    train_data: ComponentSpec = ComponentSpec(name="monuseg", params={"split": "train", "labels": "none"})
    val_data: ComponentSpec | None = ComponentSpec(name="monuseg", params={"split": "val"})
    post_processor: ComponentSpec = ComponentSpec(name="watershed")
    tuning: dict[str, list[Any]] = Field(default_factory=dict)
    tune_polarity: bool = False
    optimizer: OptimizerConfig = OptimizerConfig()
    epochs: int = Field(30, ge=1)
    steps_per_epoch: int = Field(100, ge=1)
    batch_size: int = Field(30, ge=3)
    crop_size: int = Field(160, ge=16)
    held_out_batches: int = Field(4, ge=0)
    stain_normalize: bool = True
    device: str = "cpu"
    precision: Precision = "auto"
    channels_last: bool = True
    output_dir: Path = Path("runs")
    tracking: ComponentSpec | None = None


class MethodSpec(StrictModel):
    """A method in a suite: a segmenter with its parameters, shown under ``label``.

    ``checkpoint`` (a weights file, relative to the suite file) is passed to the segmenter as its
    ``checkpoint`` parameter. ``train`` (an experiment YAML, relative to the suite file) trains
    the method first with ``nucbench.train``, once per seed (resuming an interrupted training),
    and the segmenter (default ``scale-ssl``) loads each training's best checkpoint. ``seeds``
    replaces the suite's seeds for this method (one seed is enough for a deterministic baseline).
    """

    label: str | None = None
    segmenter: ComponentSpec | None = None
    checkpoint: Path | None = None
    train: Path | None = None
    seeds: list[int] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _segmenter_or_training(self) -> MethodSpec:
        if self.train is not None:
            if self.checkpoint is not None:
                raise ValueError("give 'checkpoint' or 'train' (which makes the checkpoint), not both")
            if self.segmenter is None:
                self.segmenter = ComponentSpec(name="scale-ssl")
        elif self.segmenter is None:
            raise ValueError("a method needs a 'segmenter' (or 'train': an experiment YAML to train first)")
        return self

    @property
    def display_name(self) -> str:
        if self.label:
            return self.label
        if self.train is not None:
            return self.train.stem
        assert self.segmenter is not None
        return self.segmenter.name


class DatasetSpec(ComponentSpec):
    """A dataset in a suite: a registered dataset with its params, shown under ``label``."""

    label: str | None = None

    @property
    def display_name(self) -> str:
        return self.label or self.name


class SuiteConfig(StrictModel):
    """A benchmark: datasets × methods × seeds, scored with metrics.

    Each (method, dataset, seed) is one run. ``overlays`` is how many images of each run are
    recorded with the predicted contours drawn on them. Relative paths (``plugins``, checkpoints,
    dataset roots that exist there) are relative to the suite file.
    """

    name: str
    version: str = "1"
    description: str = ""
    plugins: list[Path] = Field(default_factory=list)
    datasets: list[DatasetSpec] = Field(min_length=1)
    methods: list[MethodSpec] = Field(min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    metrics: list[ComponentSpec] = Field(default_factory=lambda: [ComponentSpec(name="aji")], min_length=1)
    overlays: int = Field(2, ge=0)
    executor: ComponentSpec = ComponentSpec(name="local")
    tracking: ComponentSpec = ComponentSpec(name="mlflow")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, following ``include:`` (relative to the including file).

    Raises
    ------
    InputError
        If the file is missing, unreadable, not YAML, not a mapping, or includes itself.
    """
    return _load_yaml(Path(path), seen=())


def _load_yaml(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    path = path.expanduser()
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.resolve() in seen:
        raise InputError(f"{path}: includes itself (via {' -> '.join(map(str, seen))})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    include = data.pop("include", None)
    if include is None:
        return data
    base = _load_yaml(path.parent / str(include), seen + (path.resolve(),))
    return _deep_merge(base, data)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: str | Path, model: type[M]) -> M:
    """Load and validate a YAML file as `model`.

    Relative paths inside the file stay as written; callers resolve them against the file's folder.

    Raises
    ------
    InputError
        If the file cannot be read as YAML.
    ConfigError
        If validation fails: ``suite.yaml: methods[2].segmenter.nmae: unknown key ...``.
    """
    data = load_yaml(path)
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(format_validation_error(exc, model, source=str(path))) from None


def format_validation_error(exc: pydantic.ValidationError, model: type[BaseModel], *, source: str) -> str:
    """One line per problem: ``source: dotted.path: what is wrong`` with allowed keys for extras."""
    lines = []
    for err in exc.errors():
        loc = err["loc"]
        where = _dotted(loc) or "<top level>"
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            key = str(loc[-1])
            hint = did_you_mean(key, allowed)
            lines.append(
                f"{source}: {where}: unknown key '{key}'.{hint} Allowed keys: {', '.join(allowed)}."
            )
        elif err["type"] == "missing":
            lines.append(f"{source}: {where}: required key is missing.")
        else:
            lines.append(f"{source}: {where}: {err['msg']} (got {err.get('input')!r}).")
    return "\n".join(lines)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model reached by following `loc` from `model` (best effort)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = _model_in(fields[part].annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", {})
    return list(fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
