"""The default executor: one job after another, in this process."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tqdm.auto import tqdm

from nucbench.interfaces import JobOutcome


class LocalExecutor:
    """Run jobs one after another in this process, with a progress bar.

    Parameters
    ----------
    progress : bool, optional
        Show a progress bar in :meth:`map` (default ``True``).
    retries : int, optional
        How many times :meth:`imap` retries a failing job before reporting it (default 1).
    """

    def __init__(self, progress: bool = True, retries: int = 1) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.progress = progress
        self.retries = retries

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], *, desc: str = "") -> list[Any]:
        """``[fn(item) for item in items]``, in order."""
        return [fn(item) for item in tqdm(items, desc=desc or None, disable=not self.progress)]

    def imap(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[JobOutcome]:
        """Yield one :class:`~nucbench.interfaces.JobOutcome` per item, in order.

        An item whose call raises is tried again up to ``retries`` times, then reported with
        its last error and traceback; the next item runs regardless.
        """
        for index, item in enumerate(items):
            for attempt in range(self.retries + 1):
                try:
                    value = fn(item)
                except Exception as exc:  # reported with the item, the others go on
                    if attempt == self.retries:
                        yield JobOutcome(index, None, _describe(exc))
                else:
                    yield JobOutcome(index, value)
                    break

    def close(self) -> None:
        """Nothing to release."""


def _describe(exc: BaseException) -> str:
    trace = "".join(traceback.format_exception(exc)).rstrip()
    return f"{type(exc).__name__}: {exc}\n{trace}"
