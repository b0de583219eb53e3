"""Compare the runs of a suite: methods × datasets × metrics, mean ± std over seeds.

:func:`summarise` turns run records (:class:`nucbench.tracking.RunRecord`) into a
:class:`Comparison`; :func:`to_text`, :func:`to_markdown`, :func:`to_csv` and :func:`bar_chart_png`
render it; :func:`comparison_files` gives all four as files, which ``nucbench run`` and
``nucbench compare`` write to disk and attach to the suite's parent run.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from nucbench.tracking import RunRecord

__all__ = [
    "Comparison",
    "Row",
    "latest_finished",
    "summarise",
    "to_text",
    "to_markdown",
    "to_csv",
    "bar_chart_png",
    "comparison_files",
]

#: Recorded timing shown in the table as seconds per image (mean over seeds).
SECONDS_PER_IMAGE = "time/segment_s_mean"


@dataclass
class Row:
    """One (method, dataset): number of seeds, and mean and std over seeds of each metric."""

    method: str
    dataset: str
    n_seeds: int
    mean: dict[str, float] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)
    seconds_per_image: float = math.nan


@dataclass
class Comparison:
    """A comparison table: rows in method order, then dataset order; `metrics` in column order."""

    title: str
    metrics: list[str]
    rows: list[Row]


def latest_finished(records: Sequence[RunRecord]) -> list[RunRecord]:
    """The newest finished record of each (method, dataset, seed), oldest first.

    Examples
    --------
    >>> a = RunRecord("1", "h1", "otsu", "d", 0, "FINISHED", {"aji": 0.5}, end_time=1)
    >>> b = RunRecord("2", "h2", "otsu", "d", 0, "FINISHED", {"aji": 0.6}, end_time=2)
    >>> [r.run_id for r in latest_finished([a, b])]
    ['2']
    """
    best: dict[tuple[str, str, int], RunRecord] = {}
    for record in records:
        if not record.finished:
            continue
        key = (record.method, record.dataset, record.seed)
        if key not in best or (record.end_time or 0) > (best[key].end_time or 0):
            best[key] = record
    return sorted(best.values(), key=lambda r: r.end_time or 0)


def summarise(
    records: Sequence[RunRecord],
    metrics: Sequence[str] | None = None,
    *,
    order: tuple[Sequence[str], Sequence[str]] | None = None,
    title: str = "",
) -> Comparison:
    """Mean and sample standard deviation (ddof 1) over seeds of each metric, per (method, dataset).

    Parameters
    ----------
    records : sequence of RunRecord
        One per (method, dataset, seed); see :func:`latest_finished`.
    metrics : sequence of str, optional
        Metric columns, in order; default: every metric the records share, sorted, without timings.
    order : (methods, datasets), optional
        Row order; default: first appearance in `records`.

    Examples
    --------
    >>> recs = [RunRecord(str(s), "h", "otsu", "d", s, "FINISHED", {"aji": v})
    ...         for s, v in [(0, 0.5), (1, 0.7)]]
    >>> row = summarise(recs).rows[0]
    >>> row.n_seeds, round(row.mean["aji"], 3), round(row.std["aji"], 4)  # std of 0.5, 0.7: 0.1414
    (2, 0.6, 0.1414)
    """
    if metrics is None:
        names = [set(k for k in r.metrics if "/" not in k) for r in records]
        metrics = sorted(set.intersection(*names)) if names else []
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for record in records:
        groups.setdefault((record.method, record.dataset), []).append(record)
    methods = list(order[0]) if order else list(dict.fromkeys(r.method for r in records))
    datasets = list(order[1]) if order else list(dict.fromkeys(r.dataset for r in records))
    rows = []
    for method in methods:
        for dataset in datasets:
            group = groups.get((method, dataset))
            if not group:
                continue
            row = Row(method, dataset, len(group))
            for name in metrics:
                values = np.array([r.metrics.get(name, math.nan) for r in group], dtype=float)
                row.mean[name] = float(np.mean(values))
                row.std[name] = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
            times = [r.metrics[SECONDS_PER_IMAGE] for r in group if SECONDS_PER_IMAGE in r.metrics]
            if times:
                row.seconds_per_image = float(np.mean(times))
            rows.append(row)
    return Comparison(title, list(metrics), rows)


def _cell(row: Row, metric: str) -> str:
    mean, std = row.mean[metric], row.std[metric]
    if math.isnan(mean):
        return "–"
    return f"{mean:.4f}" if math.isnan(std) else f"{mean:.4f} ± {std:.4f}"


def _best(table: Comparison, higher_is_better: Mapping[str, bool]) -> set[tuple[int, str]]:
    """(row index, metric) of the best mean per dataset and metric."""
    best = set()
    for dataset in dict.fromkeys(r.dataset for r in table.rows):
        idx = [i for i, r in enumerate(table.rows) if r.dataset == dataset]
        if len(idx) < 2:
            continue
        for metric in table.metrics:
            values = [(table.rows[i].mean[metric], i) for i in idx
                      if not math.isnan(table.rows[i].mean[metric])]
            if values:
                pick = max(values) if higher_is_better.get(metric, True) else min(values)
                best.add((pick[1], metric))
    return best


def _header(metric: str, higher_is_better: Mapping[str, bool]) -> str:
    if metric not in higher_is_better:
        return metric
    return f"{metric} {'↑' if higher_is_better[metric] else '↓'}"


def _columns(table: Comparison, higher_is_better: Mapping[str, bool], mark: str) -> list[list[str]]:
    best = _best(table, higher_is_better)
    metrics = [_header(m, higher_is_better) for m in table.metrics]
    lines = [["method", "dataset", "seeds", *metrics, "s/image"]]
    for i, row in enumerate(table.rows):
        cells = [_cell(row, m) + (mark if (i, m) in best else "") for m in table.metrics]
        seconds = "–" if math.isnan(row.seconds_per_image) else f"{row.seconds_per_image:.3g}"
        lines.append([row.method, row.dataset, str(row.n_seeds)] + cells + [seconds])
    return lines


def to_text(table: Comparison, higher_is_better: Mapping[str, bool] | None = None) -> str:
    """Plain-text table, columns aligned; ``*`` marks the best mean per dataset and metric."""
    lines = _columns(table, higher_is_better or {}, " *")
    widths = [max(len(line[j]) for line in lines) for j in range(len(lines[0]))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out) + "\n"


def to_markdown(table: Comparison, higher_is_better: Mapping[str, bool] | None = None) -> str:
    """GitHub Markdown table; the best mean per dataset and metric in bold.

    Examples
    --------
    >>> recs = [RunRecord("1", "h", "otsu", "d", 0, "FINISHED", {"aji": 0.5})]
    >>> print(to_markdown(summarise(recs), {"aji": True}), end="")
    | method | dataset | seeds | aji ↑ | s/image |
    |---|---|---|---|---|
    | otsu | d | 1 | 0.5000 | – |
    """
    hib = higher_is_better or {}
    best = _best(table, hib)
    lines = _columns(table, hib, "")
    for i in range(len(table.rows)):
        for j, metric in enumerate(table.metrics):
            if (i, metric) in best:
                lines[i + 1][3 + j] = f"**{lines[i + 1][3 + j]}**"
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    return "\n".join(out) + "\n"


def to_csv(table: Comparison) -> str:
    """CSV: ``method,dataset,n_seeds,<metric>_mean,<metric>_std,...,seconds_per_image``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["method", "dataset", "n_seeds"]
                    + [f"{m}_{s}" for m in table.metrics for s in ("mean", "std")] + ["seconds_per_image"])
    for row in table.rows:
        values = [v for m in table.metrics for v in (row.mean[m], row.std[m])]
        writer.writerow([row.method, row.dataset, row.n_seeds]
                        + ["" if math.isnan(v) else repr(v) for v in values]
                        + ["" if math.isnan(row.seconds_per_image) else repr(row.seconds_per_image)])
    return buffer.getvalue()


def bar_chart_png(table: Comparison, higher_is_better: Mapping[str, bool] | None = None) -> bytes:
    """PNG bar chart: one panel per metric, datasets along x, one bar per method, std as error bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    hib = higher_is_better or {}
    methods = list(dict.fromkeys(r.method for r in table.rows))
    datasets = list(dict.fromkeys(r.dataset for r in table.rows))
    n = max(1, len(table.metrics))
    fig = Figure(figsize=(max(3.5, 1.2 + 0.45 * len(methods) * len(datasets)) * n, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, n, squeeze=False)[0]
    width = 0.8 / max(1, len(methods))
    rows = {(r.method, r.dataset): r for r in table.rows}
    for ax, metric in zip(axes, table.metrics, strict=False):
        for k, method in enumerate(methods):
            xs, heights, errors = [], [], []
            for d, dataset in enumerate(datasets):
                row = rows.get((method, dataset))
                if row is None:
                    continue
                xs.append(d - 0.4 + width * (k + 0.5))
                heights.append(row.mean[metric])
                errors.append(0.0 if math.isnan(row.std[metric]) else row.std[metric])
            ax.bar(xs, heights, width, yerr=errors if any(errors) else None, capsize=3,
                   label=method, color=f"C{k % 10}")
        ax.set_xticks(range(len(datasets)), datasets, rotation=15 if len(datasets) > 2 else 0)
        ax.set_title(_header(metric, hib))
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(methods), 6), fontsize="small")
    if table.title:
        fig.suptitle(table.title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def comparison_files(
    table: Comparison, higher_is_better: Mapping[str, bool] | None = None, *, title: str | None = None
) -> dict[str, bytes]:
    """``comparison.txt``, ``.md``, ``.csv`` and ``.png`` of `table` (name → content)."""
    if title is not None:
        table = Comparison(title, table.metrics, table.rows)
    return {
        "comparison.txt": to_text(table, higher_is_better).encode(),
        "comparison.md": to_markdown(table, higher_is_better).encode(),
        "comparison.csv": to_csv(table).encode(),
        "comparison.png": bar_chart_png(table, higher_is_better),
    }
