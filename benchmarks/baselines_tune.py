"""Tune the baselines' parameters on the 11 MoNuSeg validation tiles, each candidate set run as a suite.

For each method: the stock configuration and ``--random`` configurations drawn (seeded) from
its search space are scored together as one suite (one method entry per configuration, dataset
``monuseg`` split ``val``, metric ``aji`` from the registry, mean over the 11 tiles); then
``--rounds`` passes of coordinate search from the best so far (one parameter at a time over all
its values, the others fixed; each step one small suite). Only the validation tiles are read.

The record (every configuration tried with its validation AJI, the best, the stock one, the
machine) is written to ``benchmarks/results/baselines_tuning.json``; the best configuration of
each method is what its class defaults are set to (``tests/baselines`` checks that they agree).
Methods already in the record are kept unless named with ``--methods``.

Usage::

    .venv/bin/python benchmarks/baselines_tune.py --methods cellprofiler-style fiji-style otsu
    .venv/bin/python benchmarks/baselines_tune.py --methods supervised-unet --random 0
    nice -n 5 .venv/bin/python benchmarks/baselines_tune.py --methods fiji-style --resume --random 0 \
        --rounds 3 --budget-min 30
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path
from typing import Any

from bench_record import RESULTS, default_data_root, machine_info, write_json

from nucbench.config import ComponentSpec, DatasetSpec, MethodSpec, SuiteConfig
from nucbench.suite import clear_cache, create_executor, create_tracker, plan_suite, run_suite

OUT = RESULTS / "baselines_tuning.json"

#: Search space per method: parameter → values tried. Sizes are px at 40x.
SPACES: dict[str, dict[str, list[Any]]] = {
    "cellprofiler-style": {
        "stain_vectors": ["ruifrok-he", "ruifrok-hed"],
        "threshold_scope": ["global", "adaptive"],
        "otsu_classes": [2, 3],
        "middle_class": ["foreground", "background"],
        "adaptive_window": [30, 50, 100, 200],
        "threshold_smoothing_scale": [0.0, 1.3488, 2.0, 3.0, 4.0, 5.0],
        "threshold_correction": [0.8, 0.9, 1.0, 1.1, 1.2],
        "min_threshold": [0.05, 0.1, 0.15, 0.2],
        "diameter_min": [4.0, 6.0, 8.0, 10.0, 12.0, 14.0],
        "diameter_max": [40.0, 60.0, 80.0, 100.0, 120.0],
        "discard_outside_diameter": [True, False],
        "discard_border": [True, False],
        "declump": ["intensity", "shape"],
        "dividing_lines": ["intensity", "shape"],
        "smoothing_filter_size": [None, 3.0, 5.0, 7.0],
        "maxima_suppression": [0.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0],
    },
    "fiji-style": {
        "stain_vectors": ["ruifrok-he", "ruifrok-hed"],
        "stain_output": ["transmittance", "absorbance"],
        "background_radius": [0.0, 25.0, 35.0, 50.0, 75.0, 100.0],
        "sigma": [0.0, 1.0, 1.5, 1.75, 2.0, 2.5, 3.0],
        "threshold_method": ["default", "huang", "otsu", "li", "yen", "triangle"],
        "local_method": ["none", "mean", "midgrey", "niblack", "sauvola", "phansalkar"],
        "local_radius": [15.0, 25.0, 40.0, 60.0],
        "min_od": [0.03, 0.05, 0.07, 0.1, 0.15],
        "open_iterations": [0, 1, 2],
        "open_count": [1, 2, 3],
        "fill_holes": [True, False],
        "watershed": [True, False],
        "edm_sigma": [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0],
        "watershed_tolerance": [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0],
        "size_min": [0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 125.0, 150.0, 200.0],
        "size_max": [math.inf, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0],
        "circularity_min": [0.0, 0.2, 0.3, 0.4, 0.5, 0.6],
        "exclude_edges": [False, True],
    },
    "otsu": {
        "channel": ["hematoxylin", "grey"],
        "stain_vectors": ["ruifrok-he", "ruifrok-hed"],
    },
    "supervised-unet": {
        "fg_threshold": [0.3, 0.4, 0.5, 0.6, 0.7],
        "marker_threshold": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
        "min_marker_area": [1.0, 4.0, 10.0, 20.0, 30.0, 40.0],
        "min_area": [0.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0],
    },
}


def stock(method: str) -> dict[str, Any]:
    """The untuned configuration: the plugin's ``STOCK`` table, or its defaults when it has none."""
    import nucbench

    entry = next(e for e in nucbench.list_entries("segmenter") if e.name == method)
    ref = entry.metadata.get("stock")
    if ref is None:
        return {}
    module, _, attr = ref.partition(":")
    import importlib

    return dict(getattr(importlib.import_module(module), attr))


def canonical(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Reset parameters that have no effect in `params` to one value, so equal pipelines dedupe."""
    p = dict(params)
    if method == "cellprofiler-style":
        if p.get("otsu_classes") == 2:
            p["middle_class"] = "foreground"
        if p.get("threshold_scope") == "global":
            p["adaptive_window"] = 50
        if p.get("declump") == "shape" and p.get("dividing_lines") == "shape":
            p["smoothing_filter_size"] = None
    if method == "fiji-style":
        if p.get("watershed") is False:
            p["watershed_tolerance"] = 0.5
            p["edm_sigma"] = 0.0
        if p.get("open_iterations", 0) == 0:
            p["open_count"] = 1
        if p.get("local_method", "none") == "none":
            p["local_radius"] = 15.0
        else:
            p["threshold_method"] = "default"
    if method == "otsu" and p.get("channel") == "grey":
        p["stain_vectors"] = "ruifrok-he"
    return p


def key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


class Scorer:
    """Scores configurations of one method on the validation split, each batch as one suite."""

    def __init__(self, method: str, root: str | None) -> None:
        self.method = method
        self.root = root
        self.cache: dict[str, float] = {}
        self.trials: list[dict[str, Any]] = []
        self.suites = 0

    def score(self, configs: list[dict[str, Any]]) -> list[float]:
        configs = [canonical(self.method, c) for c in configs]
        todo = list({key(c): c for c in configs if key(c) not in self.cache}.values())
        if todo:
            self._run_suite(todo)
        return [self.cache[key(c)] for c in configs]

    def _run_suite(self, configs: list[dict[str, Any]]) -> None:
        self.suites += 1
        params = {"split": "val"} | ({"root": self.root} if self.root else {})
        suite = SuiteConfig(
            name=f"baselines-tune-{self.method}",
            description="validation-split tuning (benchmarks/baselines_tune.py)",
            datasets=[DatasetSpec(name="monuseg", label="monuseg-val", params=params)],
            methods=[MethodSpec(label=f"c{i}", segmenter=ComponentSpec(name=self.method, params=c))
                     for i, c in enumerate(configs)],
            metrics=[ComponentSpec(name="aji")],
            overlays=0,
            executor=ComponentSpec(name="local", params={"progress": False}),
            tracking=ComponentSpec(name="none"),
        )
        plan = plan_suite(suite, source=f"<{suite.name}>")
        executor = create_executor(suite.executor)
        try:
            outcome = run_suite(plan, executor=executor, tracker=create_tracker(suite.tracking),
                                progress=False)
        finally:
            executor.close()
            clear_cache()
        if outcome.failed:
            raise RuntimeError("; ".join(r.error or "" for r in outcome.failed))
        by_label = {r.method: r for r in outcome.results}
        for i, c in enumerate(configs):
            result = by_label[f"c{i}"]
            value = float(result.metrics["aji"])
            self.cache[key(c)] = value
            seconds = result.timings.get("segment_s_mean", float("nan"))
            self.trials.append({"params": c, "val_aji": round(value, 5), "segment_s_mean": round(seconds, 3)})
            print(f"  {self.method} trial {len(self.trials):3d}: AJI {value:.4f}  {key(c)}", flush=True)


def sample(space: dict[str, list[Any]], base: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return base | {name: rng.choice(values) for name, values in space.items()}


def tune(method: str, root: str | None, n_random: int, rounds: int, seed: int,
         previous: dict[str, Any] | None = None, budget_s: float | None = None) -> dict[str, Any]:
    start = time.perf_counter()
    space = SPACES[method]
    base = stock(method)
    scorer = Scorer(method, root)
    if previous:  # keep the earlier trials: they are not scored again
        for trial in previous.get("trials", []):
            scorer.cache[key(canonical(method, trial["params"]))] = trial["val_aji"]
            scorer.trials.append(trial)
    rng = random.Random(seed)
    candidates = [base] + [sample(space, base, rng) for _ in range(n_random)]
    if previous:
        candidates.append(base | previous["best"]["params"])
    scores = scorer.score(candidates)
    best_i = max(range(len(candidates)), key=lambda i: scores[i])
    best, best_score = canonical(method, candidates[best_i]), scores[best_i]
    stock_score = scores[0]
    stopped, rounds_done = "converged" if rounds else "no coordinate search", 0
    for r in range(rounds):
        improved = False
        for name, values in space.items():
            if budget_s is not None and time.perf_counter() - start > budget_s:
                stopped = f"time budget ({budget_s:.0f} s) spent in round {r + 1}, before '{name}'"
                break
            options = [canonical(method, best | {name: v}) for v in values]
            vals = scorer.score(options)
            j = max(range(len(options)), key=lambda i: vals[i])
            if vals[j] > best_score + 1e-9:
                best, best_score, improved = options[j], vals[j], True
        print(f"{method}: round {r + 1}: best val AJI {best_score:.4f}", flush=True)
        if stopped.startswith("time budget"):
            break
        rounds_done = r + 1
        if not improved:
            break
    else:
        if rounds:
            stopped = f"{rounds} rounds done"
    return {
        "search": {"space": space, "random_trials": n_random, "coordinate_rounds_max": rounds, "seed": seed,
                   "coordinate_rounds_done": rounds_done, "stopped": stopped, "budget_s": budget_s,
                   "earlier_search": (previous or {}).get("search"),
                   "objective": "mean AJI over the 11 monuseg val tiles (registry metric 'aji')",
                   "suites_run": scorer.suites},
        "stock": {"params": canonical(method, base), "val_aji": round(stock_score, 5)},
        "best": {"params": best, "val_aji": round(best_score, 5)},
        "trials": scorer.trials,
        "wall_s": round(time.perf_counter() - start, 1) + (previous or {}).get("wall_s", 0.0),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--methods", nargs="+", default=["otsu", "cellprofiler-style", "fiji-style"],
                   choices=sorted(SPACES))
    p.add_argument("--random", type=int, default=40, help="random configurations per method")
    p.add_argument("--rounds", type=int, default=2, help="coordinate-search passes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget-min", type=float, help="stop the coordinate search after this many minutes")
    p.add_argument("--data-root", default=default_data_root())
    p.add_argument("--resume", action="store_true",
                   help="continue from the record: earlier trials are kept; search again from the best")
    p.add_argument("--out", type=Path, default=OUT, help="the record to update")
    p.add_argument("--resume-from", type=Path, help="record holding the earlier trials (default: --out)")
    args = p.parse_args(argv)
    source = args.resume_from or args.out
    earlier = json.loads(source.read_text())["methods"] if args.resume and source.is_file() else {}
    for method in args.methods:
        print(f"tuning {method} on monuseg val", flush=True)
        budget = None if args.budget_min is None else 60.0 * args.budget_min
        result = tune(method, args.data_root, args.random, args.rounds, args.seed, earlier.get(method),
                      budget)
        result["machine"] = machine_info()
        # re-read before writing: another tuning process may have recorded other methods meanwhile
        record = json.loads(args.out.read_text()) if args.out.is_file() else {"methods": {}}
        record["what"] = ("baselines tuned on the 11 MoNuSeg validation tiles only; "
                          "'best' = the class defaults, 'stock' = the untuned configuration")
        record["methods"][method] = result
        write_json(args.out, record)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
