"""Per-nucleus measurement tables (CSV), streamed to disk and written atomically."""

from __future__ import annotations

import csv
import math
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = ["TableWriter"]


class TableWriter:
    """Stream rows into a CSV file at `path`, atomically (temporary file, renamed on success).

    Parameters
    ----------
    path : str or path-like
        The ``.csv`` file to write.
    columns : sequence of str
        Header, in order; every row gives a value for each.
    decimals : int, optional
        Floats are written with this many significant digits (default 6). Non-finite values are
        written as empty cells.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "nuclei.csv"
    >>> with TableWriter(path, ["id", "area_um2"]) as table:
    ...     table.add({"id": 1, "area_um2": 12.3456789})
    >>> path.read_text().splitlines()
    ['id,area_um2', '1,12.3457']
    """

    def __init__(self, path: str | os.PathLike[str], columns: Sequence[str], *, decimals: int = 6) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.decimals = decimals
        self.count = 0
        self._tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        self._file: IO[str] | None = None
        self._writer: csv.writer | None = None

    def __enter__(self) -> TableWriter:
        self._file = open(self._tmp, "w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(self.columns)
        return self

    def _cell(self, value: object) -> object:
        if isinstance(value, float):
            return f"{value:.{self.decimals}g}" if math.isfinite(value) else ""
        return value

    def add(self, row: Mapping[str, object]) -> None:
        """Append one row (a value for every column)."""
        assert self._writer is not None, "use TableWriter in a with block"
        self._writer.writerow([self._cell(row[c]) for c in self.columns])
        self.count += 1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._file is not None
        try:
            self._file.close()
            if exc_type is None:
                os.replace(self._tmp, self.path)
        finally:
            if self._tmp.exists():
                self._tmp.unlink()
