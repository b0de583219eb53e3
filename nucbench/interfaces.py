"""The contract of each plugin kind, as structural protocols.

The registries check every object a plugin builds against these, so that a plugin's mistake is
reported at ``create`` time with the plugin's name, not deep inside a training loop. Nothing here
imports torch: tensor-valued members are typed ``Any``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "Segmenter",
    "PostProcessor",
    "Metric",
    "Dataset",
    "Executor",
    "JobOutcome",
    "Tracker",
    "SuiteLog",
    "BackbonePass",
    "Regularizer",
    "RegularizerContext",
    "CHECKS",
    "REQUIRED_METADATA",
]


@runtime_checkable
class Segmenter(Protocol):
    """RGB image → instance labels (a segmentation *method*)."""

    def segment(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        """Segment one H×W×3 uint8 image; return H×W integer labels, 0 = background.

        `mpp` is the image's microns per pixel when known, so that a method can scale sizes.
        """


@runtime_checkable
class PostProcessor(Protocol):
    """Probability map (H×W float in [0, 1]) → instance labels (H×W integer)."""

    def __call__(self, probability: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Metric(Protocol):
    """(ground-truth labels, predicted labels) → one number for one image."""

    def __call__(self, true_labels: np.ndarray, pred_labels: np.ndarray) -> float: ...


@runtime_checkable
class Dataset(Protocol):
    """A sized, indexable collection of :class:`nucbench.data.Sample`."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


@dataclass(frozen=True)
class JobOutcome:
    """What an executor reports for one item of :meth:`Executor.imap`.

    Attributes
    ----------
    index : int
        Position of the item in the list given to ``imap``.
    value : object
        What the function returned (``None`` when it failed).
    error : str or None
        ``None`` on success; otherwise the error of the last attempt, ``"TypeName: message"``
        followed by its traceback.
    """

    index: int
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """``True`` when the item succeeded."""
        return self.error is None


@runtime_checkable
class Executor(Protocol):
    """Runs a function over a list of items, locally or on a cluster."""

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], *, desc: str = "") -> list[Any]: ...

    def imap(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[JobOutcome]:
        """Run `fn` on every item; yield one :class:`JobOutcome` per item as it finishes (any order).

        A failing item is retried (the executor's ``retries``), then reported with ``error`` set;
        it never stops the other items. `fn` and the items must be picklable for executors that
        run them in other processes.
        """

    def close(self) -> None: ...


@runtime_checkable
class SuiteLog(Protocol):
    """A suite's parent record while it runs (given by :meth:`Tracker.open_suite`)."""

    parent_id: str | None

    def log_run(self, result: Any) -> str | None:
        """Record one finished or failed run (a :class:`nucbench.tracking.RunResult`); return its id."""

    def retire(self, run_ids: Sequence[str]) -> None:
        """Hide earlier records of runs that were redone (``--rerun``)."""

    def log_files(self, files: Mapping[str, bytes]) -> None:
        """Attach files (name → content) to the suite's parent record."""

    def mark_failed(self, reason: str) -> None:
        """End the parent record as failed (some runs failed) when the suite closes."""


@runtime_checkable
class Tracker(Protocol):
    """Records benchmark suites: one parent record per suite, one child record per run."""

    def location(self) -> str:
        """Where the records are, in words a user can act on (printed at the end of a suite)."""

    def check(self) -> None:
        """Raise :class:`nucbench.errors.InputError` at once if the store cannot be reached."""

    def runs(self, suite: str) -> list[Any]:
        """Every recorded child run of `suite` (:class:`nucbench.tracking.RunRecord`), newest first."""

    def open_suite(
        self, suite: str, *, version: str, config: Mapping[str, Any]
    ) -> AbstractContextManager[SuiteLog]:
        """Open (or reopen, to resume) the parent record of `suite`; leaving the block ends it.

        An exception leaving the block, or :meth:`SuiteLog.mark_failed`, ends it as failed.
        """

    def log_comparison(self, suite: str, files: Mapping[str, bytes]) -> str | None:
        """Attach a comparison (name → content) to the latest parent record of `suite`; its id."""


@dataclass(frozen=True)
class RegularizerContext:
    """What a regularizer sees at one training step (frozen; one per call).

    Attributes
    ----------
    images : Tensor
        The input batch, N×3×H×W float in [0, 1].
    confidence : Tensor
        Raw output ``a = F(images)`` of the attention backbone, N×1×H×W.
    attention : Tensor
        The attention map ``A`` in [0, 1], N×1×H×W, as multiplied into the image.
    attend : callable
        ``attend(images) -> A`` with the current model, for terms that need another forward pass
        (equivariance).
    step : int
        Global training step.
    targets : Tensor or None
        The pretext task's targets for the batch (for scale classification, each crop's
        magnification class, coarsest first), for terms that relate crops of different classes;
        None where the caller has none.
    """

    images: Any
    confidence: Any
    attention: Any
    attend: Callable[[Any], Any]
    step: int
    targets: Any = None


@dataclass(frozen=True)
class BackbonePass:
    """One extra pass of the attention backbone F that a regularizer runs each training step.

    Declared by a regularizer's optional ``backbone_passes(n_classes)`` so that compute can be
    counted without knowing the regularizer: F's cost scales with pixels, so a pass is the
    `share` of the batch it sees, its `scale` (side length relative to the training crop) and
    whether it is differentiated (a pass without `gradient` is a forward pass only).
    """

    share: float
    scale: float = 1.0
    gradient: bool = True


@runtime_checkable
class Regularizer(Protocol):
    """A weighted loss term on the attention map: ``weight * regularizer(context)``.

    Optional members, looked up by name: ``activate(confidence, *, update_stats)`` (the term
    decides how the confidence becomes the attention) and ``backbone_passes(n_classes)``, the
    :class:`BackbonePass` es of F the term runs besides the trainer's own (none when absent).
    """

    weight: float

    def __call__(self, context: RegularizerContext) -> Any: ...


def _needs(*methods: str) -> Callable[[Any], str | None]:
    def check(obj: Any) -> str | None:
        missing = [m for m in methods if not callable(getattr(obj, m, None))]
        return f"lacks {', '.join(m + '()' for m in missing)}" if missing else None

    return check


def _callable(obj: Any) -> str | None:
    return None if callable(obj) else "is not callable"


def _regularizer(obj: Any) -> str | None:
    if not callable(obj):
        return "is not callable"
    if not isinstance(getattr(obj, "weight", None), int | float):
        return "has no numeric 'weight' attribute"
    return None


def _iterable_dataset(obj: Any) -> str | None:
    return _needs("__len__", "__getitem__")(obj)


#: Interface checks run by the registries on every created object, by kind.
CHECKS: dict[str, Callable[[Any], str | None]] = {
    "segmenter": _needs("segment"),
    "post-processor": _callable,
    "metric": _callable,
    "dataset": _iterable_dataset,
    "executor": _needs("map", "imap", "close"),
    "tracker": _needs("location", "check", "runs", "open_suite", "log_comparison"),
    "regularizer": _regularizer,
    "attention-backbone": _callable,
}

#: Metadata every entry of a kind must declare at registration.
REQUIRED_METADATA: dict[str, tuple[str, ...]] = {
    "metric": ("higher_is_better",),
}

