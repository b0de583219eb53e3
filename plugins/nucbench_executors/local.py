"""The default executor: one job after another, in this process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tqdm.auto import tqdm


class LocalExecutor:
    """Run jobs one after another in this process, with a progress bar.

    Parameters
    ----------
    progress : bool, optional
        Show a progress bar (default ``True``).
    """

    def __init__(self, progress: bool = True) -> None:
        self.progress = progress

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], *, desc: str = "") -> list[Any]:
        """``[fn(item) for item in items]``, in order."""
        return [fn(item) for item in tqdm(items, desc=desc or None, disable=not self.progress)]

    def close(self) -> None:
        """Nothing to release."""
