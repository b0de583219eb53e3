"""``nucbench run SUITE.yaml``: run a benchmark suite, record it, print the comparison."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from nucbench.atomic import atomic_path
from nucbench.cliparams import add_executor_options, executor_choice


def add_parser(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "run", parents=[common], help="run a benchmark suite",
        description="Run every (method, dataset, seed) of a suite that is not recorded as finished, "
                    "record each run (MLflow by default), and print the comparison table.",
    )
    parser.add_argument("suite", metavar="SUITE.yaml", help="the suite file")
    add_executor_options(parser, executor_help="executor instead of the suite's: local (default) or dask")
    parser.add_argument("--tracking-uri", metavar="URI",
                        help="MLflow tracking URI (default: the suite's, else MLFLOW_TRACKING_URI, "
                             "else sqlite:///<cwd>/mlflow.db)")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the runs with their config hashes and which are done; run nothing")
    parser.add_argument("--rerun", action="store_true",
                        help="redo runs already finished (their earlier records are retired)")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="where to write comparison.{txt,md,csv,png} (default out/<suite>)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nucbench.suite import (
        clear_cache,
        create_executor,
        create_tracker,
        dataset_sizes,
        load_suite,
        run_status,
        run_suite,
        slug,
    )

    plan = load_suite(args.suite)
    tracker = create_tracker(plan.config.tracking, uri=args.tracking_uri, source=plan.source)
    tracker.check()
    if args.dry_run:
        _print_status(plan, run_status(plan, tracker), rerun=args.rerun, where=tracker.location())
        return 0

    name, overrides = executor_choice(args)
    dataset_sizes(plan)
    start = time.perf_counter()
    executor = create_executor(plan.config.executor, name=name, overrides=overrides, source=plan.source)
    try:
        outcome = run_suite(plan, executor=executor, tracker=tracker, rerun=args.rerun,
                            progress=sys.stderr.isatty())
    finally:
        executor.close()
        clear_cache()
    wall = time.perf_counter() - start

    from nucbench.compare import to_text

    done_now = len(outcome.results) - len(outcome.failed)
    shared = len(plan.runs) - len(plan.first_of_hash())
    print(f"suite '{plan.name}': {len(plan.runs)} runs: {done_now} run now, {outcome.skipped} already done, "
          f"{len(outcome.failed)} failed" + (f", {shared} sharing another's configuration" if shared else "")
          + f" ({wall:.1f} s)")
    table = outcome.comparison
    if table is not None:
        print()
        print(to_text(table, plan.higher_is_better))
        out = args.out or Path("out") / slug(plan.name)
        write_files(out, outcome.files)
        print(f"comparison: {out}/comparison.{{txt,md,csv,png}}")
    print(f"tracking: {tracker.location()}")
    if outcome.parent_id:
        print(f"parent run: {outcome.parent_id}")
    for result in outcome.failed:
        print(f"FAILED: {(result.error or '').splitlines()[0]}", file=sys.stderr)
    return 1 if outcome.failed else 0


def _print_status(plan, status, *, rerun: bool, where: str) -> None:
    first = plan.first_of_hash()
    unique = [record for i, (run, record) in enumerate(status) if first[run.config_hash] == i]
    done = sum(record is not None for record in unique)
    todo = len(unique) if rerun else len(unique) - done
    print(f"suite '{plan.name}' (version {plan.config.version}): {len(status)} runs, {done} done, "
          f"{todo} to run{' (--rerun)' if rerun else ''}")
    rows = [("config hash", "method", "dataset", "seed", "status")]
    for i, (run, record) in enumerate(status):
        if first[run.config_hash] != i:
            state = f"same config as {plan.runs[first[run.config_hash]].method} (runs once)"
        elif record is None:
            state = "to run"
        else:
            state = f"done (run {record.run_id[:12]})" + (", rerun" if rerun else "")
        rows.append((run.config_hash, run.method, run.dataset, str(run.seed), state))
    widths = [max(len(r[j]) for r in rows) for j in range(5)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(f"tracking: {where}")


def write_files(folder: Path, files: Mapping[str, bytes]) -> None:
    """Write `files` (name → content) into `folder`, each atomically (temp name, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        with atomic_path(folder / name) as tmp:
            tmp.write_bytes(content)
