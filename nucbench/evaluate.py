"""Score predicted instance labels against ground truth: per image, then per dataset.

- :func:`score_image` — every metric of one image, with the overlap table counted once.
- :func:`load_metrics` — registered metrics by name, with their direction, aggregation and
  pooled terms (:class:`MetricSpec`).
- :func:`score_sample` / :func:`aggregate` — per-image results (:class:`ImageScore`, a missing
  prediction scored as an empty one) and the dataset summary: the mean of per-image values (as
  MoNuSeg reports) and, for ratio metrics that declare ``pooled_terms`` (AJI, AJI+, Dice), the
  pooled value Σ numerators / Σ denominators over the whole set.
- :func:`ground_truth_items`, :func:`prediction_files`, :func:`evaluate_folder` — what
  ``nucbench evaluate`` does: ground truth from a dataset name, a folder of MoNuSeg XML or a
  folder of label images, predictions from a folder of label images matched by file stem.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nucbench.errors import InputError, did_you_mean
from nucbench.overlap import Overlap

__all__ = [
    "MetricSpec",
    "ImageScore",
    "Evaluation",
    "GroundTruthItem",
    "load_metrics",
    "score_image",
    "score_sample",
    "aggregate",
    "ground_truth_items",
    "prediction_files",
    "evaluate_items",
    "evaluate_folder",
]

MetricFn = Callable[[np.ndarray, np.ndarray], float]
TermsFn = Callable[[np.ndarray, np.ndarray], tuple[float, float]]


@dataclass(frozen=True)
class MetricSpec:
    """A metric ready to score, with what a report needs to know about it.

    Attributes
    ----------
    name : str
        Registered name (``aji``).
    fn : callable
        ``fn(true_labels, pred_labels) -> float``, its options bound.
    higher_is_better : bool
        Direction, from the registration.
    aggregation : str
        How per-image values combine over a dataset: ``"mean"``.
    pooled_terms : callable or None
        ``terms(true_labels, pred_labels) -> (numerator, denominator)`` for a ratio metric whose
        dataset value can also be pooled (Σ numerators / Σ denominators), else ``None``.
    """

    name: str
    fn: MetricFn
    higher_is_better: bool
    aggregation: str = "mean"
    pooled_terms: TermsFn | None = None


def _import(reference: str) -> Any:
    module, _, attr = reference.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def load_metrics(
    names: Sequence[str] | None = None,
    *,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    manager: Any = None,
) -> dict[str, MetricSpec]:
    """Build registered metrics.

    Parameters
    ----------
    names : sequence of str, optional
        Metric names (``_`` accepted for ``-``); default: every registered metric, sorted.
    params : mapping, optional
        Options per metric name, validated by the registry.
    manager : nucbench.plugins.PluginManager, optional
        Default: the process-wide manager.

    Raises
    ------
    UnknownNameError
        For an unknown name, with the closest registered one.
    """
    from nucbench.plugins import get_plugin_manager

    manager = manager or get_plugin_manager()
    registry = manager.registries.metric
    chosen = list(names) if names else registry.names()
    specs: dict[str, MetricSpec] = {}
    for name in chosen:
        entry = registry.get(name)
        fn = registry.create(entry.name, **dict((params or {}).get(entry.name, {})))
        terms = entry.metadata.get("pooled_terms")
        specs[entry.name] = MetricSpec(
            entry.name, fn, bool(entry.metadata["higher_is_better"]),
            str(entry.metadata.get("aggregation", "mean")),
            _import(terms) if isinstance(terms, str) else terms,
        )
    return specs


def _function(metric: MetricFn | MetricSpec) -> MetricFn:
    return metric.fn if isinstance(metric, MetricSpec) else metric


def score_image(
    true_labels: np.ndarray, pred_labels: np.ndarray, metrics: Mapping[str, MetricFn | MetricSpec]
) -> dict[str, float]:
    """Every metric of one image, computing the overlap table of the pair once.

    Parameters
    ----------
    true_labels, pred_labels : ndarray
        H×W integer instance labels (0 = background).
    metrics : mapping
        Name → metric function ``(true_labels, pred_labels) -> float`` or :class:`MetricSpec`.

    Returns
    -------
    dict
        Name → value (float), in the order of `metrics`.

    Raises
    ------
    InputError
        If the labels are not 2-D non-negative integers of the same shape.

    Notes
    -----
    The metrics are called with read-only views of the labels inside
    ``with Overlap(...).shared()``, so those that use :meth:`nucbench.Overlap.of` (all built-ins)
    share one table; any other metric works unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> true = np.array([[1, 1, 0, 0]])
    >>> score_image(true, true, {"same": lambda t, p: float((t == p).all())})
    {'same': 1.0}
    """
    overlap = Overlap(true_labels, pred_labels)
    with overlap.shared():
        return {name: float(_function(m)(overlap.true_labels, overlap.pred_labels))
                for name, m in metrics.items()}


@dataclass
class ImageScore:
    """The scores of one image.

    Attributes
    ----------
    image_id : str
        The sample id / file stem.
    values : dict
        Metric name → value.
    terms : dict
        Metric name → (numerator, denominator), for metrics with pooled terms.
    prediction : str or None
        Where the prediction came from (a path), or ``None`` when it was missing and an empty
        prediction was scored instead.
    """

    image_id: str
    values: dict[str, float]
    terms: dict[str, tuple[float, float]] = field(default_factory=dict)
    prediction: str | None = None

    @property
    def missing(self) -> bool:
        """True when no prediction existed (scored as an empty one)."""
        return self.prediction is None


def score_sample(
    image_id: str,
    true_labels: np.ndarray,
    pred_labels: np.ndarray | None,
    metrics: Mapping[str, MetricSpec],
    *,
    prediction: str | None = None,
) -> ImageScore:
    """Score one image; ``pred_labels=None`` (no prediction) is scored as an empty prediction.

    Parameters
    ----------
    image_id : str
        Identifier reported with the scores.
    true_labels : ndarray
        H×W ground-truth labels.
    pred_labels : ndarray or None
        H×W predicted labels, or ``None`` for a missing prediction.
    metrics : mapping of str to MetricSpec
        From :func:`load_metrics`.
    prediction : str, optional
        Where the prediction came from (recorded; default ``"<array>"`` when `pred_labels` is
        given).
    """
    if pred_labels is None:
        pred_labels = np.zeros(np.shape(true_labels), dtype=np.int32)
        prediction = None
    elif prediction is None:
        prediction = "<array>"
    overlap = Overlap(true_labels, pred_labels)
    values: dict[str, float] = {}
    terms: dict[str, tuple[float, float]] = {}
    with overlap.shared():
        t, p = overlap.true_labels, overlap.pred_labels
        for name, spec in metrics.items():
            values[name] = float(spec.fn(t, p))
            if spec.pooled_terms is not None:
                numerator, denominator = spec.pooled_terms(t, p)
                terms[name] = (float(numerator), float(denominator))
    return ImageScore(image_id, values, terms, prediction)


def aggregate(scores: Sequence[ImageScore], metrics: Mapping[str, MetricSpec]) -> dict[str, dict[str, float]]:
    """Dataset values: ``{"mean": {name: …}, "pooled": {name: …}}``.

    The mean is over images (NaN when there are none). The pooled value, only for metrics with
    pooled terms, is Σ numerators / Σ denominators over the images (for AJI: total intersection
    over total union of the whole set); a zero denominator gives 1.0, as each metric does for an
    image where both label images are empty.
    """
    mean = {name: (float(np.mean([s.values[name] for s in scores])) if scores else math.nan)
            for name in metrics}
    pooled = {}
    for name, spec in metrics.items():
        if spec.pooled_terms is None:
            continue
        numerator = sum(s.terms[name][0] for s in scores)
        denominator = sum(s.terms[name][1] for s in scores)
        pooled[name] = 1.0 if denominator == 0 else numerator / denominator
    return {"mean": mean, "pooled": pooled}


@dataclass
class Evaluation:
    """The result of scoring a set of predictions.

    Attributes
    ----------
    metrics : dict of str to MetricSpec
    images : list of ImageScore
        One per ground-truth image, in ground-truth order.
    extra : list of str
        Predictions without ground truth (ignored).
    ground_truth, predictions : str
        What was compared (for the report).
    """

    metrics: dict[str, MetricSpec]
    images: list[ImageScore]
    extra: list[str] = field(default_factory=list)
    ground_truth: str = ""
    predictions: str = ""

    @property
    def missing(self) -> list[str]:
        """Ids of the images whose prediction was missing (scored as empty)."""
        return [s.image_id for s in self.images if s.missing]

    def summary(self) -> dict[str, dict[str, float]]:
        """:func:`aggregate` of the images."""
        return aggregate(self.images, self.metrics)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (what ``nucbench evaluate --json`` prints)."""
        summary = self.summary()
        return {
            "ground_truth": self.ground_truth,
            "predictions": self.predictions,
            "metrics": {name: {"higher_is_better": s.higher_is_better, "aggregation": s.aggregation,
                               "pooled": s.pooled_terms is not None}
                        for name, s in self.metrics.items()},
            "n_images": len(self.images),
            "images": [{"id": s.image_id, "prediction": s.prediction, "values": s.values}
                       for s in self.images],
            "mean": summary["mean"],
            "pooled": summary["pooled"],
            "missing_predictions": self.missing,
            "extra_predictions": list(self.extra),
        }


@dataclass(frozen=True)
class GroundTruthItem:
    """One ground-truth image, loaded on demand.

    Attributes
    ----------
    id : str
        Sample id / file stem; the prediction is ``<id>.<png|tif|tiff|npy>``.
    source : str
        Where it comes from (a path, or ``dataset[index]``), for messages.
    load : callable
        ``load(shape)`` → H×W labels. `shape` is the prediction's ``(H, W)`` when there is one,
        else ``None``. Only XML annotations use it, and only when no image ``<id>.*`` lies beside
        the XML or in ``../images`` (the image's size comes first).
    """

    id: str
    source: str
    load: Callable[[tuple[int, int] | None], np.ndarray]


def _image_next_to(xml: Path) -> Path | None:
    from nucbench.data.io import IMAGE_SUFFIXES

    for folder in (xml.parent, xml.parent.parent / "images"):
        for suffix in IMAGE_SUFFIXES:
            for candidate in (folder / f"{xml.stem}{suffix}", folder / f"{xml.stem}{suffix.upper()}"):
                if candidate.is_file():
                    return candidate
    return None


def _image_shape(path: Path) -> tuple[int, int]:
    """(H, W) of an image file, from its header where possible."""
    if path.suffix.lower() == ".npy":
        return tuple(np.load(path, mmap_mode="r").shape[:2])  # type: ignore[return-value]
    try:
        from PIL import Image

        with Image.open(path) as image:
            return image.height, image.width
    except Exception:  # let the project's reader report what is wrong with the file
        from nucbench.data.io import read_image

        return read_image(path).shape[:2]  # type: ignore[return-value]


def _xml_item(path: Path) -> GroundTruthItem:
    def load(shape: tuple[int, int] | None) -> np.ndarray:
        from nucbench.data.annotations import parse_monuseg_xml, read_monuseg_xml

        image = _image_next_to(path)
        if image is not None:  # the image fixes the size; a prediction of another size is an error
            return read_monuseg_xml(path, _image_shape(image))
        if shape is None:
            raise InputError(
                f"{path}: cannot tell the image size for this annotation: its prediction is "
                f"missing and there is no image {path.stem}.* beside it or in ../images"
            )
        regions = parse_monuseg_xml(path)
        right = max(float(r.x.max()) for r in regions)
        bottom = max(float(r.y.max()) for r in regions)
        if right > shape[1] or bottom > shape[0]:
            raise InputError(
                f"{path}: annotation reaches x={right:g}, y={bottom:g}, beyond the "
                f"{shape[0]}×{shape[1]} prediction; is the prediction of another size?"
            )
        return read_monuseg_xml(path, shape)

    return GroundTruthItem(path.stem, str(path), load)


def _label_item(path: Path) -> GroundTruthItem:
    def load(shape: tuple[int, int] | None) -> np.ndarray:
        from nucbench.data.io import read_label_image

        return read_label_image(path)

    return GroundTruthItem(path.stem, str(path), load)


def _files_by_stem(folder: Path, suffixes: Sequence[str], what: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file() or path.suffix.lower() not in suffixes:
            continue
        if path.stem in found:
            raise InputError(f"{folder}: two {what} files for '{path.stem}': {found[path.stem].name} "
                             f"and {path.name}; keep one")
        found[path.stem] = path
    return found


def _dataset_items(spec: str, params: Mapping[str, Any], manager: Any) -> tuple[list[GroundTruthItem], str]:
    name, _, split = spec.partition(":")
    params = dict(params)
    if split:
        if "split" in params and params["split"] != split:
            raise InputError(
                f"--gt {spec}: split '{split}' conflicts with --gt-param split={params['split']}"
            )
        params["split"] = split
    registry = manager.registries.dataset
    if name not in registry:
        hint = did_you_mean(name, registry.names())
        raise InputError(
            f"--gt {spec}: no such folder, and '{name}' is not a registered dataset.{hint} "
            "(nucbench plugins list --kind dataset)"
        )
    dataset = manager.create("dataset", name, **params)
    label = registry.get(name).name + (f" ({', '.join(f'{k}={v}' for k, v in params.items())})"
                                       if params else "")
    ids = getattr(dataset, "ids", None)

    def loader(index: int) -> Callable[[tuple[int, int] | None], np.ndarray]:
        def load(shape: tuple[int, int] | None) -> np.ndarray:
            sample = dataset[index]
            if sample.labels is None:
                raise InputError(f"dataset {label}: sample '{sample.id}' has no labels to score against")
            return sample.labels

        return load

    items = [GroundTruthItem(str(ids[i]) if ids is not None else str(dataset[i].id), f"{label}[{i}]",
                             loader(i)) for i in range(len(dataset))]
    return items, label


def ground_truth_items(
    gt: str | os.PathLike[str], params: Mapping[str, Any] | None = None, *, manager: Any = None
) -> tuple[list[GroundTruthItem], str]:
    """The ground-truth images named by `gt`, and a description of them.

    Parameters
    ----------
    gt : str or path-like
        One of: a folder of MoNuSeg / ImageScope ``.xml`` annotations (used when the folder holds
        any ``.xml``); a folder of label images (``.png``/``.tif``/``.tiff``/``.npy``); or a
        registered dataset name, optionally ``name:split`` (``monuseg:test``).
    params : mapping, optional
        Dataset parameters (``{"split": "test", "root": ...}``); only for a dataset.
    manager : PluginManager, optional
        For datasets; default the process-wide one.

    Raises
    ------
    InputError
        If `gt` is neither an existing folder nor a registered dataset, is a file, or the folder
        holds no annotation or label image.
    """
    from nucbench.data.io import LABEL_SUFFIXES

    path = Path(gt)
    if path.is_dir():
        if params:
            raise InputError(f"--gt {gt}: is a folder; --gt-param applies only to a dataset name")
        xmls = _files_by_stem(path, (".xml",), "annotation")
        if xmls:
            return [_xml_item(p) for p in xmls.values()], f"{path} (MoNuSeg XML)"
        labels = _files_by_stem(path, LABEL_SUFFIXES, "label image")
        if not labels:
            raise InputError(f"{path}: no .xml annotations and no label images "
                             f"({', '.join(LABEL_SUFFIXES)}) in this folder")
        return [_label_item(p) for p in labels.values()], f"{path} (label images)"
    if path.exists():
        raise InputError(f"--gt {gt}: is a file; expected a folder or a dataset name")
    if os.sep in str(gt) or "/" in str(gt):
        raise InputError(f"--gt {gt}: no such folder")
    from nucbench.plugins import get_plugin_manager

    return _dataset_items(str(gt), params or {}, manager or get_plugin_manager())


def prediction_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Label images in `folder` by file stem (hidden files and other suffixes are not predictions).

    Raises
    ------
    InputError
        If the folder does not exist, or two files share a stem (``a.png`` and ``a.tif``).
    """
    from nucbench.data.io import LABEL_SUFFIXES

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder" if not folder.exists()
                         else f"{folder}: is a file; expected a folder of predicted label images")
    return _files_by_stem(folder, LABEL_SUFFIXES, "prediction")


def evaluate_items(
    items: Sequence[GroundTruthItem],
    predictions: Mapping[str, Path],
    metrics: Mapping[str, MetricSpec],
    *,
    progress: bool = True,
) -> Evaluation:
    """Score each ground-truth item against ``predictions[item.id]`` (missing → empty prediction).

    Raises
    ------
    InputError
        If a prediction cannot be read, is not integer labels, or differs in size from its
        ground truth (the message names the prediction file).
    """
    from tqdm.auto import tqdm

    from nucbench.data.io import read_label_image

    scores = []
    for item in tqdm(items, desc="evaluate", unit="image", disable=not progress):
        path = predictions.get(item.id)
        pred = read_label_image(path) if path is not None else None
        true = item.load(pred.shape if pred is not None else None)
        if pred is not None and pred.shape != true.shape:
            raise InputError(
                f"{path}: prediction is {pred.shape[0]}×{pred.shape[1]} but its ground truth "
                f"{item.source} is {true.shape[0]}×{true.shape[1]}"
            )
        scores.append(score_sample(item.id, true, pred, metrics,
                                   prediction=str(path) if path is not None else None))
    ids = {item.id for item in items}
    extra = [str(p) for stem, p in predictions.items() if stem not in ids]
    return Evaluation(dict(metrics), scores, extra)


def evaluate_folder(
    pred_dir: str | os.PathLike[str],
    gt: str | os.PathLike[str],
    metrics: Sequence[str] | Mapping[str, MetricSpec] | None = None,
    *,
    gt_params: Mapping[str, Any] | None = None,
    progress: bool = True,
    manager: Any = None,
) -> Evaluation:
    """What ``nucbench evaluate`` computes: predictions in `pred_dir` against ground truth `gt`.

    Parameters
    ----------
    pred_dir : str or path-like
        Folder of predicted label images ``<id>.png`` (``.tif``, ``.tiff``, ``.npy``).
    gt : str or path-like
        See :func:`ground_truth_items`.
    metrics : sequence of str or mapping, optional
        Metric names (default: every registered metric) or specs from :func:`load_metrics`.
    gt_params : mapping, optional
        Dataset parameters when `gt` is a dataset name.

    Raises
    ------
    InputError
        For a missing folder, unreadable or wrongly sized prediction, or a `gt` that is neither a
        folder nor a dataset; UnknownNameError for an unknown metric.
    """
    specs = metrics if isinstance(metrics, Mapping) else load_metrics(metrics, manager=manager)
    predictions = prediction_files(pred_dir)
    items, description = ground_truth_items(gt, gt_params, manager=manager)
    if not items:
        raise InputError(f"--gt {gt}: no ground-truth images")
    result = evaluate_items(items, predictions, specs, progress=progress)
    result.ground_truth, result.predictions = description, str(pred_dir)
    return result

