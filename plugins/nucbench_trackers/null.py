"""The ``none`` tracker: records nothing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any


class _NullLog:
    parent_id = None

    def log_run(self, result: Any) -> None:
        return None

    def retire(self, run_ids: Sequence[str]) -> None:
        return None

    def log_files(self, files: Mapping[str, bytes]) -> None:
        return None

    def mark_failed(self, reason: str) -> None:
        return None


class NullTracker:
    """Record nothing: every run of a suite is run again each time, and nothing can be compared later."""

    def location(self) -> str:
        """Say that nothing is recorded."""
        return "nothing recorded (tracking: none)"

    def check(self) -> None:
        """Nothing to reach."""

    def runs(self, suite: str) -> list[Any]:
        """No runs are ever stored."""
        return []

    @contextmanager
    def open_suite(self, suite: str, *, version: str, config: Mapping[str, Any]) -> Iterator[_NullLog]:
        """A log that drops everything."""
        yield _NullLog()

    def log_comparison(self, suite: str, files: Mapping[str, bytes]) -> None:
        """Drop the comparison."""
        return None
