"""Per-nucleus measurement tables (CSV), streamed to disk and written atomically."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import IO

from nucbench.atomic import atomic_path

__all__ = ["TableWriter", "format_cell", "format_row"]


def format_cell(value: object, decimals: int = 6) -> object:
    """A float with `decimals` significant digits (empty when not finite); anything else as is."""
    if isinstance(value, float):
        return f"{value:.{decimals}g}" if math.isfinite(value) else ""
    return value


def format_row(cells: Sequence[object], decimals: int = 6) -> str:
    """One CSV line (without its line end), quoted as :mod:`csv` quotes it.

    Examples
    --------
    >>> format_row(["c0001_r0002", 12.3456789, float("nan"), "a,b"])
    'c0001_r0002,12.3457,,"a,b"'
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([format_cell(c, decimals) for c in cells])
    return buffer.getvalue()


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
        self._stack = ExitStack()
        self._file: IO[str] | None = None
        self._writer: csv.writer | None = None

    def __enter__(self) -> TableWriter:
        with ExitStack() as stack:
            tmp = stack.enter_context(atomic_path(self.path))
            self._file = stack.enter_context(open(tmp, "w", encoding="utf-8", newline=""))
            self._stack = stack.pop_all()
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(self.columns)
        return self

    def add(self, row: Mapping[str, object]) -> None:
        """Append one row (a value for every column)."""
        assert self._writer is not None, "use TableWriter in a with block"
        self._writer.writerow([format_cell(row[c], self.decimals) for c in self.columns])
        self.count += 1

    def add_line(self, line: str) -> None:
        """Append one row already formatted (:func:`format_row`), without its line end."""
        assert self._file is not None, "use TableWriter in a with block"
        self._file.write(line + "\n")
        self.count += 1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._file is not None
        self._stack.__exit__(exc_type, exc, tb)
