"""The issue's acceptance path, verbatim: ``nucbench segment`` then ``nucbench evaluate`` on MoNuSeg test.

For each baseline (tuned defaults) this runs, as a user would::

    nucbench segment <data>/monuseg/test/images --method METHOD --out runs/baselines/cli/METHOD --overwrite
    nucbench evaluate --pred runs/baselines/cli/METHOD --gt <data>/monuseg/test/annotations --json

and records the mean AJI (and every other metric ``evaluate`` prints) with the required bar
(0.50 for the classical methods, 0.60 for supervised-unet) in
``benchmarks/results/baselines_acceptance.json``. No ``--mpp`` is passed, so the segmenters
assume 0.25 µm/px (MoNuSeg's tiles are 0.246-0.253).

Usage::

    .venv/bin/python benchmarks/baselines_acceptance.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench_record import REPO, RESULTS, default_data_root, machine_info, write_json

BARS = {"cellprofiler-style": 0.50, "fiji-style": 0.50, "otsu": None, "supervised-unet": 0.60}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-root", default=default_data_root())
    p.add_argument("--methods", nargs="+", default=list(BARS))
    args = p.parse_args(argv)
    exe = str(Path(sys.executable).with_name("nucbench"))
    data = Path(args.data_root) / "monuseg" / "test"
    rows = []
    for method in args.methods:
        out = REPO / "runs" / "baselines" / "cli" / method
        seg_cmd = [exe, "segment", str(data / "images"), "--method", method, "--out", str(out), "--overwrite"]
        eval_cmd = [exe, "evaluate", "--pred", str(out), "--gt", str(data / "annotations"), "--json"]
        t0 = time.perf_counter()
        subprocess.run(seg_cmd, check=True, capture_output=True, text=True)
        seg_s = time.perf_counter() - t0
        result = json.loads(subprocess.run(eval_cmd, check=True, capture_output=True, text=True).stdout)
        aji = float(result["mean"]["aji"])
        bar = BARS.get(method)
        rows.append({"method": method, "commands": [" ".join(seg_cmd), " ".join(eval_cmd)],
                     "aji": round(aji, 4), "aji_pooled": round(float(result["pooled"]["aji"]), 4),
                     "bar": bar, "met": None if bar is None else aji >= bar,
                     "segment_wall_s": round(seg_s, 1), "evaluate": result})
        print(f"{method:20s} AJI {aji:.4f}" + ("" if bar is None else f"  (bar {bar:.2f}: "
                                                 f"{'met' if aji >= bar else 'NOT met'})"), flush=True)
    write_json(RESULTS / "baselines_acceptance.json",
               {"what": "nucbench segment + nucbench evaluate on the 14 MoNuSeg test tiles, tuned defaults",
                "rows": rows, "machine": machine_info()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
