"""Throughput (Mpx/s) of the post-processors on MoNuSeg-sized probability maps, one core.

For each of the 14 MoNuSeg test tiles the probability map is the ground-truth foreground
(``read_monuseg_xml``) blurred by a Gaussian of σ = 2 px, plus seeded uniform noise of ±0.2,
clipped to [0, 1]: nuclei-shaped blobs that touch, with a ragged 0.5 contour. Each registered
post-processor runs on it with its default options; the best of `--repeats` wall times per tile
gives Mpx/s. The AJI of the result against the ground truth is printed as a sanity check (not a
benchmark of the method: the map comes from the answer).

Run::

    .venv/bin/python benchmarks/postprocess_speed.py   # writes benchmarks/results/postprocess_speed.json
    .venv/bin/python benchmarks/postprocess_speed.py --tiles 2     # a quick look, nothing written
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_record import RESULTS, default_data_root, machine_info, write_json  # noqa: E402


def probability_map(labels: np.ndarray, seed: int) -> np.ndarray:
    """Blurred ground-truth foreground with uniform noise, in [0, 1] (float32)."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    prob = ndi.gaussian_filter((labels > 0).astype(np.float32), 2.0)
    prob += rng.uniform(-0.2, 0.2, prob.shape).astype(np.float32)
    return np.clip(prob, 0.0, 1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=default_data_root(), help="folder holding monuseg/ "
                        "(default NUCBENCH_DATA, else ../shared/data)")
    parser.add_argument("--tiles", type=int, help="only the first N test tiles (nothing is written)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per tile")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    parser.add_argument("--out", type=Path, default=RESULTS / "postprocess_speed.json")
    args = parser.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from nucbench_metrics.aji import aji
    from PIL import Image

    from nucbench.data.annotations import read_monuseg_xml
    from nucbench.plugins import get_plugin_manager

    manager = get_plugin_manager()
    names = manager.registries.post_processor.names()
    processors = {name: manager.create("post-processor", name) for name in names}
    folder = Path(args.data) / "monuseg" / "test"
    xmls = sorted((folder / "annotations").glob("*.xml"))[: args.tiles]
    for fn in processors.values():  # imports outside the timings
        fn(np.zeros((16, 16), np.float32))
    rows = []
    print(f"{'tile':<25}" + "".join(f"{n + ' Mpx/s':>20}{'AJI':>7}{'objects':>8}" for n in names))
    for k, xml in enumerate(xmls):
        with Image.open(folder / "images" / f"{xml.stem}.tif") as image:
            shape = (image.height, image.width)
        true = read_monuseg_xml(xml, shape)
        prob = probability_map(true, args.seed + k)
        row = {"tile": xml.stem, "megapixels": prob.size / 1e6, "n_true": int(np.unique(true).size - 1)}
        line = f"{xml.stem:<25}"
        for name, fn in processors.items():
            best = float("inf")
            for _ in range(args.repeats):
                start = time.perf_counter()
                labels = fn(prob)
                best = min(best, time.perf_counter() - start)
            row[name] = {"seconds": best, "mpx_per_s": prob.size / 1e6 / best, "aji": aji(true, labels),
                         "n_objects": int(np.unique(labels).size - 1)}
            line += f"{row[name]['mpx_per_s']:>20.2f}{row[name]['aji']:>7.3f}{row[name]['n_objects']:>8}"
        rows.append(row)
        print(line, flush=True)
    summary = {name: {"mpx_per_s": sum(r["megapixels"] for r in rows) / sum(r[name]["seconds"] for r in rows),
                      "seconds_per_tile_mean": float(np.mean([r[name]["seconds"] for r in rows])),
                      "aji_mean": float(np.mean([r[name]["aji"] for r in rows]))}
               for name in names}
    print()
    for name, s in summary.items():
        print(f"{name}: {s['mpx_per_s']:.2f} Mpx/s ({s['seconds_per_tile_mean']:.3f} s a 1000×1000 tile, "
              f"one core); AJI {s['aji_mean']:.3f} on the blurred ground truth")
    if args.tiles is None:
        load = os.getloadavg() if hasattr(os, "getloadavg") else None
        record = {"machine": {**machine_info(), "load_average_1_5_15": load, "pinned_cores": 1},
                  "settings": {"seed": args.seed, "repeats": args.repeats,
                               "map": "ground-truth foreground, Gaussian sigma 2 px, uniform noise ±0.2"},
                  "summary": summary, "tiles": rows}
        print(f"written {write_json(args.out, record)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
