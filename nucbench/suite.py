"""Benchmark suites: expand a suite YAML into runs, run them image by image, record, resume.

A suite (:class:`nucbench.config.SuiteConfig`) is datasets × methods × seeds, scored with
metrics. :func:`plan_suite` expands it into :class:`Run`\\ s, each identified by the hash of its
resolved configuration (:func:`config_hash`): the segmenter, dataset and metric parameters with
every default filled in, the seed and the suite's ``version``. Labels are not part of the hash,
so renaming a method does not redo it; changing a parameter, a default, a checkpoint's content or
the suite's version does.

:func:`run_suite` sends one job per (run, image) to an executor, collects each run's images as
they finish, and hands each complete run to the tracker at once, so an interrupted suite loses
only the runs it had not finished. Run it again and the runs the tracker holds as finished (by
config hash) are skipped; ``rerun=True`` redoes them.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import random
import re
import socket
import sys
import tempfile
import time
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from nucbench.atomic import atomic_path
from nucbench.config import ComponentSpec, SuiteConfig, load_config
from nucbench.errors import ConfigError, InputError, NucbenchError
from nucbench.interfaces import Executor, Tracker
from nucbench.plugins import PluginManager, get_plugin_manager
from nucbench.tracking import RunRecord, RunResult, overlay_png

__all__ = [
    "Component",
    "Run",
    "SuitePlan",
    "ImageJob",
    "ImageResult",
    "ImageError",
    "SuiteOutcome",
    "load_suite",
    "plan_suite",
    "config_hash",
    "run_status",
    "run_suite",
    "run_image_job",
    "run_train_job",
    "TrainJob",
    "slug",
    "create_tracker",
    "create_executor",
    "dataset_sizes",
    "clear_cache",
]

_PATH_NAMES = ("root", "checkpoint", "path")
_PATH_SUFFIXES = ("_path", "_dir", "_file", "_root")


class ImageError(RuntimeError):
    """An image job failed after its sample was read; the message starts with the sample id."""


@dataclass(frozen=True)
class Component:
    """A plugin entry to build, with its resolved parameters (hashable, picklable).

    Attributes
    ----------
    kind, name : str
        Registry kind and entry name.
    params_json : str
        The parameters as canonical JSON (absolute paths; defaults included).
    """

    kind: str
    name: str
    params_json: str = "{}"

    @property
    def params(self) -> dict[str, Any]:
        """The parameters as a dict."""
        return json.loads(self.params_json)


@dataclass(frozen=True)
class Run:
    """One (method, dataset, seed) of a suite.

    Attributes
    ----------
    method, dataset : str
        Display names (the YAML ``label``, else the plugin name).
    seed : int
        The run's seed.
    segmenter, data : Component
        What the run builds, with absolute paths.
    metrics : tuple of Component
        The metrics it scores.
    config : dict
        The hashed configuration (paths as written in the suite, files by content).
    config_hash : str
        16 hex digits of SHA-256 of `config`.
    training : TrainJob or None
        The training that makes the segmenter's checkpoint, for a method given by ``train:``.
    """

    method: str
    dataset: str
    seed: int
    segmenter: Component
    data: Component
    metrics: tuple[Component, ...]
    config: dict[str, Any] = field(compare=False, hash=False)
    config_hash: str = ""
    training: TrainJob | None = None

    def describe(self) -> str:
        """``method 'otsu' on dataset 'monuseg-test' (seed 0)``."""
        return f"method '{self.method}' on dataset '{self.dataset}' (seed {self.seed})"

    def logged_config(self, suite: SuiteConfig) -> dict[str, Any]:
        """What the run's record stores: the resolved configuration, with labels and absolute paths."""
        return {
            "suite": {"name": suite.name, "version": suite.version},
            "config_hash": self.config_hash,
            "method": {"label": self.method, "segmenter": self.segmenter.name,
                       "params": self.segmenter.params},
            "dataset": {"label": self.dataset, "name": self.data.name, "params": self.data.params},
            "seed": self.seed,
            "metrics": [{"name": m.name, "params": m.params} for m in self.metrics],
            **({"train": json.loads(self.training.config_json)} if self.training else {}),
        }


@dataclass(frozen=True)
class PluginSource:
    """A plugin file as sent to workers: its path, content hash and text."""

    path: str
    sha256: str
    text: str


@dataclass(frozen=True)
class TrainJob:
    """A training a run needs first: an experiment config for :func:`nucbench.train.train`.

    Attributes
    ----------
    config_json : str
        The :class:`~nucbench.config.ExperimentConfig` as JSON, with the run's seed, the name
        ``<name>-s<seed>`` and an absolute ``output_dir``.
    run_dir : str
        ``output_dir/name``: where the training writes ``checkpoint.pt`` and ``best.pt``.
    plugins : tuple of PluginSource
        The suite's plugin files (plugins the training may use).
    """

    config_json: str
    run_dir: str
    plugins: tuple[PluginSource, ...] = ()

    @property
    def checkpoint(self) -> Path:
        """The best checkpoint, which the segmenter loads."""
        return Path(self.run_dir) / "best.pt"

    def done(self) -> bool:
        """``True`` when the training reached its last epoch and, with validation data, was tuned."""
        from nucbench.config import ExperimentConfig

        config = ExperimentConfig.model_validate_json(self.config_json)
        last = Path(self.run_dir) / "checkpoint.pt"
        if not (self.checkpoint.is_file() and last.is_file()):
            return False
        if config.val_data is not None and not (Path(self.run_dir) / "tuning.json").is_file():
            return False
        import torch

        state = torch.load(last, map_location="cpu", weights_only=True)
        return int(state.get("epoch", 0)) >= config.epochs


@dataclass
class SuitePlan:
    """A suite expanded into runs (what :func:`run_suite` executes).

    Attributes
    ----------
    config : SuiteConfig
        The validated suite.
    source : str
        The suite file (or ``"<suite>"``), used in messages.
    runs : list of Run
        In suite order: methods, then datasets, then seeds.
    plugins : tuple of PluginSource
        Plugin files the suite loads (sent to workers).
    metric_names : list of str
        Metric names, in suite order.
    higher_is_better : dict of str to bool
        Direction of each metric, from its registration.
    """

    config: SuiteConfig
    source: str
    runs: list[Run]
    plugins: tuple[PluginSource, ...]
    metric_names: list[str]
    higher_is_better: dict[str, bool]

    @property
    def name(self) -> str:
        """The suite's name (its MLflow experiment unless the tracker names another)."""
        return self.config.name

    def first_of_hash(self) -> dict[str, int]:
        """Index of the first run of each config hash (runs with equal configs run once)."""
        first: dict[str, int] = {}
        for i, run in enumerate(self.runs):
            first.setdefault(run.config_hash, i)
        return first


@dataclass(frozen=True)
class ImageJob:
    """One image of one run: what a worker needs to segment and score it."""

    run: int
    image: int
    segmenter: Component
    data: Component
    metrics: tuple[Component, ...]
    seed: int
    plugins: tuple[PluginSource, ...]
    overlay: bool


@dataclass
class ImageResult:
    """Scores of one image: sample id, metric values, seconds, predicted count, optional overlay.

    ``terms`` holds (numerator, denominator) of each metric that can be pooled over a dataset
    (AJI: intersection, union). ``started`` and ``ended`` are wall-clock times (seconds since the
    epoch) of the job; ``worker`` is ``host:pid`` of the process that ran it.
    """

    image: str
    scores: dict[str, float]
    terms: dict[str, tuple[float, float]]
    segment_s: float
    score_s: float
    n_pred: int
    overlay: bytes | None = None
    started: float = 0.0
    ended: float = 0.0
    worker: str = ""


@dataclass
class SuiteOutcome:
    """What :func:`run_suite` did.

    Attributes
    ----------
    records : list of RunRecord
        One per run of the plan whose result is known (done before or finished now), in plan
        order, labelled with the plan's current labels: what the comparison table shows.
    results : list of RunResult
        Runs executed now (finished and failed).
    skipped : int
        Configurations already done, not executed (runs whose configuration equals an earlier
        run's are executed and recorded once, and compared under each label).
    parent_id : str or None
        The tracker's id of the suite's parent record.
    comparison : Comparison or None
        The comparison table of `records`.
    files : dict of str to bytes
        The table as ``comparison.{txt,md,csv,png}`` (also attached to the parent record).
    """

    records: list[RunRecord]
    results: list[RunResult]
    skipped: int
    parent_id: str | None
    comparison: Any = None
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def failed(self) -> list[RunResult]:
        """Runs that failed now."""
        return [r for r in self.results if not r.ok]


def slug(name: str) -> str:
    """A file-name-safe form of `name`.

    >>> slug("Table 1: MoNuSeg/test")
    'table-1-monuseg-test'
    """
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-") or "suite"


def _safe_name(name: str) -> str:
    """`name` with characters other than letters, digits, ``.``, ``_`` and ``-`` replaced by ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "image"


def config_hash(config: Mapping[str, Any]) -> str:
    """16 hex digits of SHA-256 of `config` as canonical JSON (sorted keys, no spaces).

    >>> config_hash({"seed": 0, "method": {"segmenter": "otsu", "params": {}}})
    '869384b95af80539'
    """
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_suite(path: str | Path, *, manager: PluginManager | None = None) -> SuitePlan:
    """Read, validate and expand a suite YAML (relative paths are relative to the file).

    Raises
    ------
    InputError, ConfigError
        For an unreadable file, an invalid field, an unknown plugin or parameter (naming the
        file and the dotted location), a missing plugin file or checkpoint.
    """
    path = Path(path)
    config = load_config(path, SuiteConfig)
    return plan_suite(config, base_dir=path.parent, source=str(path), manager=manager)


def plan_suite(
    config: SuiteConfig,
    *,
    base_dir: str | Path = ".",
    source: str = "<suite>",
    manager: PluginManager | None = None,
) -> SuitePlan:
    """Expand `config` into runs: every name and parameter is checked, every default resolved.

    Plugin files listed under ``plugins:`` are loaded into `manager` (the process-wide one by
    default) first.
    """
    manager = manager or get_plugin_manager()
    base = Path(base_dir).expanduser().resolve()
    plugins = []
    for i, rel in enumerate(config.plugins):
        file = _resolve(base, rel)
        try:
            manager.load_file(file)
        except InputError as exc:
            raise InputError(f"{source}: plugins[{i}]: {exc}") from None
        text = file.read_text()
        plugins.append(PluginSource(str(file), hashlib.sha256(text.encode()).hexdigest(), text))

    _unique(source, "metrics", [m.name for m in config.metrics])
    _unique(source, "datasets", [d.display_name for d in config.datasets])
    _unique(source, "methods", [m.display_name for m in config.methods])

    metrics, metric_cfg, directions = [], [], {}
    for i, spec in enumerate(config.metrics):
        comp, hashed = _resolve_component(manager, "metric", spec, base, source, f"metrics[{i}]")
        metrics.append(comp)
        metric_cfg.append({"name": comp.name, "params": hashed})
        directions[comp.name] = bool(manager.registries.metric.get(comp.name).metadata["higher_is_better"])

    datasets = []
    for i, spec in enumerate(config.datasets):
        comp, hashed = _resolve_component(manager, "dataset", spec, base, source, f"datasets[{i}]")
        datasets.append((spec.display_name, comp, {"name": comp.name, "params": hashed}))

    runs = []
    for i, method in enumerate(config.methods):
        where = f"methods[{i}]"
        seg_spec = method.segmenter
        assert seg_spec is not None  # MethodSpec's validator sets it
        if method.checkpoint is not None:
            if "checkpoint" in seg_spec.params:
                raise ConfigError(
                    f"{source}: {where}: 'checkpoint' is given twice (method.checkpoint and "
                    "segmenter.params.checkpoint); keep one"
                )
            seg_spec = ComponentSpec(name=seg_spec.name, params={**seg_spec.params,
                                                                  "checkpoint": str(method.checkpoint)})
        seeds = method.seeds or config.seeds
        _unique(source, f"{where}.seeds", [str(s) for s in seeds])
        for seed in seeds:
            comp, hashed = _resolve_component(
                manager, "segmenter", seg_spec, base, source, f"{where}.segmenter", seed=seed
            )
            method_cfg: dict[str, Any] = {"segmenter": comp.name, "params": hashed}
            training = None
            if method.train is not None:
                training, method_cfg["train"] = _training(method.train, seed, base, source, where,
                                                          tuple(plugins))
                comp = _with_checkpoint(manager, comp, training.checkpoint, source, where)
            for label, data, data_cfg in datasets:
                hashed_config = {
                    "method": method_cfg,
                    "dataset": data_cfg,
                    "seed": seed,
                    "metrics": metric_cfg,
                    "suite_version": config.version,
                }
                runs.append(Run(method.display_name, label, seed, comp, data, tuple(metrics),
                                hashed_config, config_hash(hashed_config), training))
    runs.sort(key=lambda r: ([m.display_name for m in config.methods].index(r.method),
                             [d.display_name for d in config.datasets].index(r.dataset)))
    return SuitePlan(config, source, runs, tuple(plugins), [m.name for m in metrics], directions)


def _training(
    path: Path, seed: int, base: Path, source: str, where: str, plugins: tuple[PluginSource, ...]
) -> tuple[TrainJob, dict[str, Any]]:
    """The training of a ``train:`` method for `seed`, and its config as hashed."""
    from nucbench.config import ExperimentConfig
    from nucbench.train import resolve_config_paths

    file = _resolve(base, path)
    if not file.is_file():
        raise InputError(f"{source}: {where}.train: no such file: {file}")
    experiment = resolve_config_paths(load_config(file, ExperimentConfig), file)
    experiment = experiment.model_copy(update={"seed": seed, "name": f"{experiment.name}-s{seed}"})
    run_dir = Path(experiment.output_dir) / experiment.name
    job = TrainJob(experiment.model_dump_json(), str(run_dir), plugins)
    return job, experiment.model_dump(mode="json", exclude={"output_dir", "tracking"})


def _with_checkpoint(
    manager: PluginManager, comp: Component, checkpoint: Path, source: str, where: str
) -> Component:
    """`comp` with its ``checkpoint`` parameter set to a trained model's file."""
    if "checkpoint" not in manager.registries.segmenter.get(comp.name).parameters():
        raise ConfigError(
            f"{source}: {where}.segmenter: segmenter '{comp.name}' takes no 'checkpoint', so it cannot "
            "load the model that 'train' makes; name a segmenter that does (e.g. scale-ssl)"
        )
    params = {**comp.params, "checkpoint": str(checkpoint)}
    return Component(comp.kind, comp.name, json.dumps(params, sort_keys=True, separators=(",", ":")))


def _unique(source: str, where: str, names: Sequence[str]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(
                f"{source}: {where}[{i}]: '{name}' appears twice (also {where}[{seen[name]}]); "
                "give one of them a different label"
                if where in ("methods", "datasets") else
                f"{source}: {where}[{i}]: '{name}' appears twice (also {where}[{seen[name]}])"
            )
        seen[name] = i


def _resolve(base: Path, value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _is_path_param(name: str, annotation: Any) -> bool:
    if name in _PATH_NAMES or name.endswith(_PATH_SUFFIXES):
        return True
    return annotation is Path or Path in typing.get_args(annotation)


def _resolve_component(
    manager: PluginManager,
    kind: str,
    spec: ComponentSpec,
    base: Path,
    source: str,
    where: str,
    *,
    seed: int | None = None,
) -> tuple[Component, dict[str, Any]]:
    """Validate `spec`; return the component to build and its parameters as hashed."""
    registry = manager.registries[kind]
    try:
        entry = registry.get(spec.name)
        given = registry.validate_params(entry.name, spec.params)
        options = entry.parameters()
    except NucbenchError as exc:
        raise type(exc)(f"{source}: {where}: {exc}") from None
    try:
        hints = typing.get_type_hints(entry.resolve().__init__ if inspect.isclass(entry.resolve())
                                      else entry.resolve())
    except Exception:  # unresolvable forward references: fall back to names
        hints = {}
    resolved = {n: p.default for n, p in options.items() if p.default is not inspect.Parameter.empty}
    resolved.update(given)
    if seed is not None and "seed" in options and "seed" not in given:
        resolved["seed"] = seed
    run_params, hashed = {}, {}
    for name, value in resolved.items():
        value = _jsonable(value)
        hashed[name] = run_params[name] = value
        if not (isinstance(value, str) and _is_path_param(name, hints.get(name))):
            continue
        must_be_file = name == "checkpoint" or name.endswith("_file")
        path = _resolve(base, value)
        if not (path.exists() or must_be_file or Path(value).expanduser().is_absolute()):
            continue  # not beside the suite: the plugin resolves it (e.g. under NUCBENCH_DATA)
        run_params[name] = str(path)
        if path.is_file():
            hashed[name] = "sha256:" + _file_sha256(path)
        elif must_be_file:
            raise InputError(f"{source}: {where}.params.{name}: no such file: {path}")
    params_json = json.dumps(run_params, sort_keys=True, separators=(",", ":"))
    return Component(kind, entry.name, params_json), hashed


@lru_cache(maxsize=64)
def _file_sha256_cached(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    stat = path.stat()
    return _file_sha256_cached(str(path), stat.st_mtime_ns, stat.st_size)


def _jsonable(value: Any) -> Any:
    """`value` as plain JSON data (tuples → lists, paths → strings, others by ``str``)."""
    return json.loads(json.dumps(value, default=str))


def run_status(plan: SuitePlan, tracker: Tracker) -> list[tuple[Run, RunRecord | None]]:
    """Each run of `plan` with its latest finished record in `tracker` (``None``: not done)."""
    done: dict[str, RunRecord] = {}
    for record in tracker.runs(plan.name):  # newest first
        if record.finished and record.config_hash not in done:
            done[record.config_hash] = record
    return [(run, done.get(run.config_hash)) for run in plan.runs]


# ---------------------------------------------------------------------------------------------
# Worker side: one image of one run.


def run_image_job(job: ImageJob) -> ImageResult:
    """Segment and score one image (runs on a worker; builds each component once per process).

    Raises
    ------
    InputError
        If the sample has no labels, or the segmenter returns something that is not an integer
        label image of the image's size.
    """
    started = time.time()
    manager = get_plugin_manager()
    for plugin in job.plugins:
        _load_plugin(manager, plugin)
    dataset = _build(job.data, job.plugins)
    segmenter = _build(job.segmenter, job.plugins)
    metrics = _metric_specs(job.metrics, job.plugins, id(manager))
    sample = dataset[job.image]
    if sample.labels is None:
        raise InputError(
            f"dataset '{job.data.name}': image '{sample.id}' has no labels; a suite scores "
            "predictions against labels"
        )
    _seed_everything(job.seed)
    try:
        start = time.perf_counter()
        labels = segmenter.segment(sample.image, mpp=sample.mpp)
        segment_s = time.perf_counter() - start
        _check_labels(job.segmenter.name, sample, labels)

        from nucbench.evaluate import score_sample

        start = time.perf_counter()
        score = score_sample(str(sample.id), sample.labels, labels, metrics)
        score_s = time.perf_counter() - start
        overlay = overlay_png(sample.image, labels) if job.overlay else None
    except Exception as exc:
        raise ImageError(f"{sample.id}: {type(exc).__name__}: {exc}") from exc
    n_pred = int(np.unique(labels).size - (1 if (labels == 0).any() else 0))
    return ImageResult(str(sample.id), score.values, score.terms, segment_s, score_s, n_pred, overlay,
                       started, time.time(), f"{socket.gethostname()}:{os.getpid()}")


def _check_labels(name: str, sample: Any, labels: Any) -> None:
    shape = sample.image.shape[:2]
    if not isinstance(labels, np.ndarray) or labels.shape != shape or not np.issubdtype(
        labels.dtype, np.integer
    ):
        seen = (f"{labels.dtype} array of shape {labels.shape}" if isinstance(labels, np.ndarray)
                else type(labels).__name__)
        raise InputError(
            f"segmenter '{name}' returned {seen} for image '{sample.id}'; expected integer labels "
            f"of shape {shape}"
        )


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def _load_plugin(manager: PluginManager, plugin: PluginSource) -> None:
    """Load a suite's plugin file on a worker: the original file if it is there, else a copy."""
    path = Path(plugin.path)
    try:
        same = path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == plugin.sha256
    except OSError:
        same = False
    if not same:
        folder = Path(tempfile.gettempdir()) / "nucbench-plugins" / plugin.sha256[:16]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / Path(plugin.path).name
        if not path.is_file():
            with atomic_path(path) as tmp:
                tmp.write_text(plugin.text)
    manager.load_file(path)


@lru_cache(maxsize=32)
def _build_cached(component: Component, plugins: tuple[PluginSource, ...], manager_id: int) -> Any:
    return get_plugin_manager().create(component.kind, component.name, **component.params)


def _build(component: Component, plugins: tuple[PluginSource, ...]) -> Any:
    return _build_cached(component, plugins, id(get_plugin_manager()))


@lru_cache(maxsize=8)
def _metric_specs(metrics: tuple[Component, ...], plugins: tuple[PluginSource, ...], manager_id: int) -> Any:
    from nucbench.evaluate import load_metrics

    return load_metrics([m.name for m in metrics], params={m.name: m.params for m in metrics})


def clear_cache() -> None:
    """Forget the components built in this process (segmenters, datasets, metrics)."""
    _build_cached.cache_clear()
    _metric_specs.cache_clear()


# ---------------------------------------------------------------------------------------------
# Driver side.


class _RunState:
    """Collects the images of one run as they finish."""

    def __init__(self, run: Run, n_images: int) -> None:
        self.run = run
        self.images: list[ImageResult | None] = [None] * n_images
        self.errors: list[str] = []
        self.pending = n_images

    def add(self, image: int, result: ImageResult | None, error: str | None) -> None:
        self.images[image] = result
        if error is not None:
            self.errors.append(f"image #{image}: {error}")
        self.pending -= 1

    def result(self, suite: SuiteConfig) -> RunResult:
        run = self.run
        result = RunResult(run.config_hash, run.method, run.dataset, run.seed, run.logged_config(suite))
        if self.errors:
            first = self.errors[0].strip().splitlines()[0]
            result.error = (f"{run.describe()}: {len(self.errors)} of {len(self.images)} images failed; "
                            f"first: {first}\n\n" + "\n\n".join(self.errors))
            return result
        images = [im for im in self.images if im is not None]
        for im in images:
            result.per_image.append({"image": im.image, **im.scores, "segment_s": im.segment_s,
                                     "score_s": im.score_s, "n_pred": im.n_pred, "worker": im.worker})
            if im.overlay is not None:
                result.overlays[f"overlays/{_safe_name(im.image)}.png"] = im.overlay
        from nucbench.evaluate import ImageScore, aggregate

        specs = _metric_specs(run.metrics, (), id(get_plugin_manager()))
        summary = aggregate([ImageScore(im.image, im.scores, im.terms) for im in images], specs)
        result.metrics = {**summary["mean"], **{f"pooled/{k}": v for k, v in summary["pooled"].items()}}
        if images:
            seg = [im.segment_s for im in images]
            result.timings.update(
                segment_s_total=float(np.sum(seg)), segment_s_mean=float(np.mean(seg)),
                score_s_total=float(np.sum([im.score_s for im in images])),
                wall_s=max(im.ended for im in images) - min(im.started for im in images),
            )
        return result


def run_suite(
    plan: SuitePlan,
    *,
    executor: Executor,
    tracker: Tracker,
    rerun: bool = False,
    progress: bool = True,
    on_run: Callable[[RunResult], None] | None = None,
) -> SuiteOutcome:
    """Run every run of `plan` that `tracker` does not hold as finished (all with `rerun`).

    Methods given by ``train:`` are trained first, one executor job per (method, seed) whose
    training is not complete (an interrupted training resumes). Then each run's images are sent
    to `executor` as separate jobs; a run is recorded in `tracker` as soon as its last image is
    done, as a finished run, or as a failed run naming the inputs that failed (after the
    executor's retries). A failed run (or training) never stops the others; it is redone the next
    time the suite runs.

    Parameters
    ----------
    plan : SuitePlan
        From :func:`load_suite`.
    executor : Executor
        Runs the image jobs (``local``, ``dask``).
    tracker : Tracker
        Stores the records (``mlflow``, ``none``).
    rerun : bool, optional
        Redo runs already finished; their earlier records are retired once the new ones finish.
    progress : bool, optional
        Show a progress bar over images.
    on_run : callable, optional
        Called with each :class:`RunResult` as it is recorded.

    Returns
    -------
    SuiteOutcome
    """
    from tqdm.auto import tqdm

    status = run_status(plan, tracker)
    first = plan.first_of_hash()  # runs with the same configuration run once
    todo = [(i, run) for i, (run, record) in enumerate(status)
            if (rerun or record is None) and first[run.config_hash] == i]
    old_ids: dict[str, list[str]] = {}
    if rerun:
        for record in tracker.runs(plan.name):
            if record.finished:
                old_ids.setdefault(record.config_hash, []).append(record.run_id)
    sizes = _dataset_sizes(plan, {run.data for _, run in todo})

    results: dict[int, RunResult] = {}
    ids: dict[int, str | None] = {}
    with tracker.open_suite(plan.name, version=plan.config.version,
                            config=plan.config.model_dump(mode="json")) as log:
        for i, error in _train(plan, todo, executor).items():
            run = plan.runs[i]
            results[i] = RunResult(run.config_hash, run.method, run.dataset, run.seed,
                                   run.logged_config(plan.config), error=error)
            ids[i] = log.log_run(results[i])
        jobs, states = [], {}
        overlays = plan.config.overlays
        for i, run in todo:
            if i in results:
                continue
            n = sizes[run.data]
            states[i] = _RunState(run, n)
            jobs += [ImageJob(i, k, run.segmenter, run.data, run.metrics, run.seed, plan.plugins,
                              k < overlays) for k in range(n)]
        bar = tqdm(total=len(jobs), desc=plan.name, unit="image", disable=not progress or not jobs)
        try:
            for outcome in executor.imap(run_image_job, jobs):
                job = jobs[outcome.index]
                state = states[job.run]
                state.add(job.image, outcome.value, outcome.error)
                bar.update()
                if state.pending == 0:
                    result = state.result(plan.config)
                    ids[job.run] = log.log_run(result)
                    results[job.run] = result
                    if result.ok and old_ids.get(result.config_hash):
                        log.retire(old_ids[result.config_hash])
                    if on_run is not None:
                        on_run(result)
        finally:
            bar.close()
        failed = [r for r in results.values() if not r.ok]
        records = _records(status, {plan.runs[i].config_hash: (r, ids.get(i)) for i, r in results.items()})
        if failed:
            log.mark_failed(f"{len(failed)} of {len(plan.runs)} runs failed")
        table, files = None, {}
        if records:
            from nucbench.compare import comparison_files, summarise

            table = summarise(records, plan.metric_names, order=_order(plan), title=plan.name)
            files = comparison_files(table, plan.higher_is_better)
            log.log_files(files)
        parent_id = log.parent_id
    skipped = sum(1 for i, (run, record) in enumerate(status)
                  if first[run.config_hash] == i and record is not None and not rerun)
    return SuiteOutcome(records, [results[i] for i in sorted(results)], skipped, parent_id, table, files)


def run_train_job(job: TrainJob) -> str:
    """Train (or resume) one training of a suite; return its best checkpoint (runs on a worker)."""
    from nucbench.config import ExperimentConfig
    from nucbench.train import train

    manager = get_plugin_manager()
    for plugin in job.plugins:
        _load_plugin(manager, plugin)
    config = ExperimentConfig.model_validate_json(job.config_json)
    resume = (Path(job.run_dir) / "checkpoint.pt").is_file()
    return str(train(config, resume=resume, manager=manager, progress=False).best_checkpoint)


def _train(plan: SuitePlan, todo: Sequence[tuple[int, Run]], executor: Executor) -> dict[int, str]:
    """Run the trainings `todo` needs that are not complete; return the error of each run whose failed."""
    needed: dict[TrainJob, list[int]] = {}
    for i, run in todo:
        if run.training is not None:
            needed.setdefault(run.training, []).append(i)
    pending = [job for job in needed if not job.done()]
    errors: dict[int, str] = {}
    if not pending:
        return errors
    print(f"training {len(pending)} model(s) first (nucbench.train; log in each folder's train.log): "
          + ", ".join(j.run_dir for j in pending), file=sys.stderr)
    for outcome in executor.imap(run_train_job, pending):
        if outcome.error is not None:
            job = pending[outcome.index]
            first = outcome.error.strip().splitlines()[0]
            for i in needed[job]:
                errors[i] = (f"{plan.runs[i].describe()}: training {job.run_dir} failed: {first}\n\n"
                             + outcome.error)
    return errors


def _order(plan: SuitePlan) -> tuple[list[str], list[str]]:
    methods = list(dict.fromkeys(run.method for run in plan.runs))
    datasets = list(dict.fromkeys(run.dataset for run in plan.runs))
    return methods, datasets


def _records(
    status: list[tuple[Run, RunRecord | None]],
    done_now: Mapping[str, tuple[RunResult, str | None]],
) -> list[RunRecord]:
    """A record per run of the plan whose result is known, under the run's own labels."""
    records = []
    for run, record in status:
        result, run_id = done_now.get(run.config_hash, (None, None))
        if result is not None and result.ok:
            metrics = {**result.metrics, **{f"time/{k}": v for k, v in result.timings.items()}}
            records.append(RunRecord(run_id or "", run.config_hash, run.method, run.dataset, run.seed,
                                     "FINISHED", metrics))
        elif record is not None:  # done before (or redone now and failed: the earlier result stands)
            records.append(RunRecord(record.run_id, run.config_hash, run.method, run.dataset, run.seed,
                                     record.status, dict(record.metrics), record.end_time))
    return records


def _dataset_sizes(plan: SuitePlan, datasets: Iterable[Component]) -> dict[Component, int]:
    """Build each dataset once here, so that a missing folder fails before any work starts."""
    sizes = {}
    labels = {run.data: run.dataset for run in reversed(plan.runs)}
    for comp in datasets:
        where = f"{plan.source}: dataset '{labels.get(comp, comp.name)}'"
        try:
            sizes[comp] = len(_build(comp, plan.plugins))
        except NucbenchError as exc:
            raise type(exc)(f"{where}: {exc}") from None
        if sizes[comp] == 0:
            raise InputError(f"{where}: no images ({comp.name}, params {comp.params_json})")
    return sizes


def create_tracker(
    spec: ComponentSpec, *, uri: str | None = None, source: str = "<suite>",
    manager: PluginManager | None = None,
) -> Tracker:
    """Build the tracker of a suite; `uri` (``--tracking-uri``) selects ``mlflow`` at that URI.

    The tracker is not yet checked: call its ``check()`` before any work.
    """
    manager = manager or get_plugin_manager()
    name, params = spec.name, dict(spec.params)
    if uri is not None:
        if manager.registries.tracker.get(name).name == "none":
            name, params = "mlflow", {}
        params["uri"] = uri
    try:
        return manager.create("tracker", name, **params)
    except NucbenchError as exc:
        raise type(exc)(f"{source}: tracking: {exc}") from None


def create_executor(
    spec: ComponentSpec, *, name: str | None = None, overrides: Mapping[str, Any] | None = None,
    source: str = "<suite>", manager: PluginManager | None = None,
) -> Executor:
    """Build the executor `name` (default: the suite's), with the suite's params if it is the same one.

    `overrides` (``None`` values ignored) replace parameters: ``address``, ``n_workers``, ...
    """
    manager = manager or get_plugin_manager()
    registry = manager.registries.executor
    try:
        chosen = registry.get(name or spec.name).name
        params = dict(spec.params) if chosen == registry.get(spec.name).name else {}
        params.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return manager.create("executor", chosen, **params)
    except NucbenchError as exc:
        raise type(exc)(f"{source}: executor: {exc}") from None


def dataset_sizes(plan: SuitePlan) -> dict[Component, int]:
    """Number of images of each dataset of `plan` (building each once: a missing folder fails here)."""
    return _dataset_sizes(plan, dict.fromkeys(run.data for run in plan.runs))
