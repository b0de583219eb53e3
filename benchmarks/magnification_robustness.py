"""Do the segmenters work at 20x as well as at 40x? MoNuSeg test tiles scored at both magnifications.

The shipped models must work on users' slides scanned at 20x or 40x without retraining. MoNuSeg
has ground truth only at 40x, so the 14 test tiles are also made into 20x tiles: the image
downsampled ×2 with an anti-aliased (area) filter, as a 20x scan would be, and the instance labels
by nearest neighbour (``labels[1::2, 1::2]``, which keeps every nucleus of 2 px or more). Each
segmenter then segments each tile at 40x (``mpp=0.25``) and at 20x (``mpp=0.5``) and is scored
with AJI and PQ against the labels at the same magnification.

Usage (from the repository root)::

    NUCBENCH_DATA=../shared/data .venv/bin/python benchmarks/magnification_robustness.py \
        [--methods scale-ssl cellprofiler-style supervised-unet]

Writes ``benchmarks/results/magnification_robustness.json`` (per tile and mean, per method and
magnification, with the machine, date and commit).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from bench_record import RESULTS, default_data_root, machine_info, write_json
from PIL import Image

from nucbench.evaluate import load_metrics, score_image
from nucbench.plugins import get_plugin_manager

METRICS = ["aji", "pq"]


def to_20x(image: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 40x tile and its labels at 20x: area-averaged image, nearest-neighbour labels."""
    h, w = image.shape[0] // 2, image.shape[1] // 2
    small = np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.BOX))
    return small, labels[1 : 2 * h : 2, 1 : 2 * w : 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+",
                        default=["scale-ssl", "cellprofiler-style", "supervised-unet"])
    parser.add_argument("--data-root", default=default_data_root())
    args = parser.parse_args(argv)

    manager = get_plugin_manager()
    dataset = manager.create("dataset", "monuseg", root=str(Path(args.data_root).resolve()), split="test")
    metrics = load_metrics(METRICS, manager=manager)
    samples = [dataset[i] for i in range(len(dataset))]
    result: dict = {"what": __doc__.splitlines()[0], "metrics": METRICS, "methods": {}}
    for method in args.methods:
        segmenter = manager.create("segmenter", method)
        rows: dict[str, dict] = {"40x": {}, "20x": {}}
        seconds = {"40x": 0.0, "20x": 0.0}
        for sample in samples:
            image, labels = np.asarray(sample.image), np.asarray(sample.labels)
            small, small_labels = to_20x(image, labels)
            for mag, img, gt, mpp in (("40x", image, labels, 0.25), ("20x", small, small_labels, 0.5)):
                t0 = time.perf_counter()
                pred = segmenter.segment(img, mpp=mpp)
                seconds[mag] += time.perf_counter() - t0
                rows[mag][sample.id] = score_image(gt, pred, metrics)
        summary = {
            mag: {m: float(np.mean([r[m] for r in per.values()])) for m in METRICS}
            for mag, per in rows.items()
        }
        summary["aji_20x_over_40x"] = summary["20x"]["aji"] / summary["40x"]["aji"]
        result["methods"][method] = {"mean": summary, "seconds": seconds, "per_image": rows}
        print(f"{method:20s} AJI 40x {summary['40x']['aji']:.4f}  20x {summary['20x']['aji']:.4f}  "
              f"(ratio {summary['aji_20x_over_40x']:.2f});  PQ 40x {summary['40x']['pq']:.4f}  "
              f"20x {summary['20x']['pq']:.4f}", flush=True)
    result["machine"] = machine_info()
    path = write_json(RESULTS / "magnification_robustness.json", result)
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
