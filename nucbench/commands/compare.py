"""``nucbench compare SUITE.yaml|EXPERIMENT``: methods × datasets × metrics, mean ± std over seeds."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from nucbench.errors import InputError


def add_parser(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "compare", parents=[common], help="compare the recorded runs of a suite",
        description="Tabulate the finished runs of a suite (a suite file: its current runs, by "
                    "config hash) or of an MLflow experiment (the latest run of each method, "
                    "dataset and seed): mean ± std over seeds. Writes comparison.{txt,md,csv,png} "
                    "and attaches them to the suite's parent run.",
    )
    parser.add_argument("target", metavar="SUITE.yaml|EXPERIMENT",
                        help="a suite file, or the name of an MLflow experiment")
    parser.add_argument("--tracking-uri", metavar="URI",
                        help="MLflow tracking URI (default: the suite's, else MLFLOW_TRACKING_URI, "
                             "else sqlite:///<cwd>/mlflow.db)")
    parser.add_argument("--metric", action="append", metavar="NAME",
                        help="only these metric columns (repeatable; default: the suite's)")
    parser.add_argument("--format", choices=("text", "markdown", "csv"), default="text",
                        help="what to print (default text)")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="where to write comparison.{txt,md,csv,png} (default out/<suite>)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nucbench.commands.run import write_files
    from nucbench.compare import comparison_files, latest_finished, summarise, to_csv, to_markdown, to_text
    from nucbench.config import ComponentSpec
    from nucbench.plugins import get_plugin_manager
    from nucbench.suite import create_tracker, load_suite, run_status, slug

    target = args.target
    is_file = Path(target).suffix in (".yaml", ".yml") or Path(target).is_file()
    if is_file:
        plan = load_suite(target)
        tracker = create_tracker(plan.config.tracking, uri=args.tracking_uri, source=plan.source)
        tracker.check()
        name = plan.name
        # The current runs of the suite, under their current labels.
        records = [dataclasses.replace(record, method=run.method, dataset=run.dataset)
                   for run, record in run_status(plan, tracker) if record is not None]
        metrics = plan.metric_names
        order = (list(dict.fromkeys(r.method for r in plan.runs)),
                 list(dict.fromkeys(r.dataset for r in plan.runs)))
        directions = dict(plan.higher_is_better)
    else:
        tracker = create_tracker(ComponentSpec(name="mlflow"), uri=args.tracking_uri)
        tracker.check()
        name = target
        records = latest_finished(tracker.runs(target))
        metrics, order = None, None
        registry = get_plugin_manager().registries.metric
        directions = {e.name: bool(e.metadata["higher_is_better"]) for e in registry.list()}
    if not records:
        raise InputError(f"{target}: no finished runs of '{name}' in {tracker.location()}")
    if args.metric:
        known = sorted({k for r in records for k in r.metrics if "/" not in k})
        unknown = [m for m in args.metric if m not in known]
        if unknown:
            raise InputError(
                f"--metric {unknown[0]}: not recorded for '{name}'. Recorded: {', '.join(known)}"
            )
        metrics = args.metric
    table = summarise(records, metrics, order=order, title=name)
    files = comparison_files(table, directions)
    out = args.out or Path("out") / slug(name)
    write_files(out, files)
    parent = tracker.log_comparison(name, files)
    render = {"text": lambda: to_text(table, directions), "markdown": lambda: to_markdown(table, directions),
              "csv": lambda: to_csv(table)}[args.format]
    print(render(), end="")
    print(f"comparison: {out}/comparison.{{txt,md,csv,png}}"
          + (f"; attached to parent run {parent}" if parent else ""), file=sys.stderr)
    return 0
