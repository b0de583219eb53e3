"""What a suite records about its runs, independent of the tracker that stores it.

A tracker plugin (``mlflow``, ``none``; see :class:`nucbench.interfaces.Tracker`) receives a
:class:`RunResult` for every run a suite finishes or fails, and gives back :class:`RunRecord`\\ s
for the runs it has stored, so that a suite can resume and ``nucbench compare`` can tabulate.
The names of the tags every record carries are here, so that the MLflow UI can filter on them
(``tags."nucbench.method" = 'otsu'``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "TAG_SUITE",
    "TAG_SUITE_VERSION",
    "TAG_METHOD",
    "TAG_DATASET",
    "TAG_SEED",
    "TAG_CONFIG_HASH",
    "TAG_ROLE",
    "TAG_ERROR",
    "PER_IMAGE_TABLE",
    "RunResult",
    "RunRecord",
    "flatten_params",
    "overlay_png",
]

TAG_SUITE = "nucbench.suite"
TAG_SUITE_VERSION = "nucbench.suite_version"
TAG_METHOD = "nucbench.method"
TAG_DATASET = "nucbench.dataset"
TAG_SEED = "nucbench.seed"
TAG_CONFIG_HASH = "nucbench.config_hash"
#: ``suite`` on the parent record, ``run`` on each child.
TAG_ROLE = "nucbench.role"
#: On a failed child: the error, naming the input that failed.
TAG_ERROR = "nucbench.error"
#: Artifact name of each child's per-image metrics table.
PER_IMAGE_TABLE = "per_image_metrics.json"


@dataclass
class RunResult:
    """What one run of a suite produced, handed to the tracker.

    Attributes
    ----------
    config_hash : str
        The run's identity: hash of its resolved configuration.
    method, dataset : str
        Display names (labels) of the method and dataset.
    seed : int
        The run's seed.
    config : dict
        The resolved configuration (JSON-compatible), as hashed plus the suite's name.
    metrics : dict of str to float
        Mean of each metric over the images (as MoNuSeg reports), and ``pooled/<name>`` for the
        metrics that pool over the whole set (AJI: total intersection over total union).
    per_image : list of dict
        One row per image: ``image`` (sample id), every metric, ``segment_s``, ``score_s``,
        ``n_pred`` (predicted instances), ``worker`` (``host:pid`` that ran it).
    timings : dict of str to float
        Seconds: ``segment_s_total`` and ``segment_s_mean`` (in the segmenter), ``score_s_total``
        (in the metrics), ``wall_s`` (from the start of the run's first image job to the end of
        its last; jobs of several runs may overlap).
    overlays : dict of str to bytes
        PNG files (name → content): predicted contours drawn on a few images.
    error : str or None
        ``None`` for a finished run; for a failed one, what failed and on which input.
    """

    config_hash: str
    method: str
    dataset: str
    seed: int
    config: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    per_image: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    overlays: dict[str, bytes] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """``True`` when every image of the run succeeded."""
        return self.error is None

    def tags(self, suite: str, version: str) -> dict[str, str]:
        """The ``nucbench.*`` tags of this run's record."""
        return {
            TAG_ROLE: "run",
            TAG_SUITE: suite,
            TAG_SUITE_VERSION: version,
            TAG_METHOD: self.method,
            TAG_DATASET: self.dataset,
            TAG_SEED: str(self.seed),
            TAG_CONFIG_HASH: self.config_hash,
        }


@dataclass(frozen=True)
class RunRecord:
    """A run as a tracker stored it.

    Attributes
    ----------
    run_id : str
        The tracker's id of the record (an MLflow run id).
    config_hash, method, dataset : str
        From the record's tags.
    seed : int
        From the record's tags.
    status : str
        ``FINISHED``, ``FAILED``, ``RUNNING`` or ``KILLED`` (MLflow's run statuses).
    metrics : dict of str to float
        Mean metrics (and ``time/*`` timings) of the run.
    end_time : int or None
        Milliseconds since the epoch; ``None`` while running.
    """

    run_id: str
    config_hash: str
    method: str
    dataset: str
    seed: int
    status: str
    metrics: Mapping[str, float]
    end_time: int | None = None

    @property
    def finished(self) -> bool:
        """``True`` when the run completed (only such runs count as done and are compared)."""
        return self.status == "FINISHED"


def flatten_params(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested mappings and lists into dotted keys with string values (MLflow params).

    Examples
    --------
    >>> flatten_params({"method": {"params": {"sigma": 1.0}}, "metrics": ["aji", "pq"], "seed": 0})
    {'method.params.sigma': '1.0', 'metrics.0': 'aji', 'metrics.1': 'pq', 'seed': '0'}
    """
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if value:
                out.update(flatten_params(value, name + "."))
            else:
                out[name] = "{}"
        elif isinstance(value, list | tuple):
            if value:
                out.update(flatten_params({str(i): v for i, v in enumerate(value)}, name + "."))
            else:
                out[name] = "[]"
        else:
            out[name] = value if isinstance(value, str) else json.dumps(value, default=str)
    return out


def overlay_png(
    image: np.ndarray,
    labels: np.ndarray,
    *,
    size: int = 512,
    colour: Sequence[int] = (255, 255, 0),
) -> bytes:
    """PNG bytes of the centre `size`×`size` crop of `image` with the contours of `labels` drawn.

    Parameters
    ----------
    image : ndarray
        H×W×3 uint8 RGB.
    labels : ndarray
        H×W integer instance labels (0 = background).
    size : int, optional
        Side of the centre crop in pixels (the whole image when smaller).
    colour : sequence of int, optional
        RGB of the contour pixels (inner boundary of each instance).

    Examples
    --------
    >>> img = np.zeros((8, 8, 3), np.uint8); lab = np.zeros((8, 8), int); lab[2:6, 2:6] = 1
    >>> overlay_png(img, lab)[:4]
    b'\\x89PNG'
    """
    from PIL import Image
    from skimage.segmentation import find_boundaries

    h, w = labels.shape
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    window = (slice(top, top + size), slice(left, left + size))
    crop = np.array(image[window], dtype=np.uint8, copy=True)
    crop[find_boundaries(labels[window], mode="inner")] = colour
    buffer = io.BytesIO()
    Image.fromarray(crop).save(buffer, format="PNG")
    return buffer.getvalue()
