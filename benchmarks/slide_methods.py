"""The shipped self-supervised model on the two real slides, beside a classical baseline.

There is no ground truth on the slides, so this is a check that the shipped ``scale-ssl`` model
works on other scanners and magnifications without retraining: it segments each slide whole
(``nucbench.slide_segment.segment_slide``, QuPath GeoJSON + CSV), and so does
``cellprofiler-style`` (tuned on MoNuSeg, AJI 0.54 on its test tiles); the table reports the
nuclei found, their median area, the time, and how well the two methods' nuclei agree: centroids
matched one to one within 4 µm (greedy, nearest first), as precision/recall/F1 of ``scale-ssl``
against ``cellprofiler-style``.

- ``CMU-1-Small-Region.svs``: 20x, 0.499 µm/px (Aperio, JPEG), segmented at its own 20x;
- ``TCGA-CR-7395-01A-01-TS1.svs``: no resolution in its metadata; 1.0 µm/px is assumed, as in
  ``benchmarks/slide_speed.py`` (its lymphocytes are 5-6 px across, about 7 µm); a 1500×1500 px
  region of it, which every method sees at 0.25 µm/px working resolution as 36 Mpx.

Usage (from the repository root)::

    NUCBENCH_DATA=../shared/data .venv/bin/python benchmarks/slide_methods.py

Writes ``benchmarks/results/slide_methods.json``; the outputs go to ``runs/slide_methods/``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from bench_record import REPO, RESULTS, default_data_root, machine_info, write_json
from scipy.spatial import cKDTree

from nucbench.data.slides import Slide
from nucbench.slide_segment import segment_slide

#: slide → (assumed level-0 µm/px or None for the metadata's, region x, y, w, h or None for all)
SLIDES = {"CMU-1-Small-Region.svs": (None, None),
          "TCGA-CR-7395-01A-01-TS1.svs": (1.0, (1500, 1200, 1500, 1500))}
METHODS = ["scale-ssl", "cellprofiler-style"]
MATCH_UM = 4.0


def centroids(csv_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N×2 level-0 centroids, N areas in µm²) from a slide CSV."""
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    xy = np.array([[float(r["centroid_x"]), float(r["centroid_y"])] for r in rows]).reshape(-1, 2)
    return xy, np.array([float(r["area_um2"]) for r in rows])


def match(a: np.ndarray, b: np.ndarray, radius: float) -> int:
    """Pairs of points of `a` and `b` matched one to one within `radius`, nearest pairs first."""
    if not len(a) or not len(b):
        return 0
    pairs = cKDTree(a).sparse_distance_matrix(cKDTree(b), radius, output_type="ndarray")
    used_a, used_b, n = set(), set(), 0
    for i, j, _ in sorted(pairs.tolist(), key=lambda p: p[2]):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=default_data_root())
    args = parser.parse_args(argv)
    rows = []
    for name, (mpp, region) in SLIDES.items():
        path = Path(args.data_root) / "wsi" / name
        found = {}
        for method in METHODS:
            out = REPO / "runs" / "slide_methods" / method
            result = segment_slide(path, method, out, mpp=mpp, region=region, overwrite=True, progress=False)
            xy, area = centroids(result.csv)
            found[method] = xy
            rows.append({"slide": name, "method": method, "assumed_mpp": mpp, "region": region,
                         "nuclei": result.n_nuclei,
                         "median_area_um2": float(np.median(area)) if len(area) else None,
                         "megapixels": result.megapixels, "segment_s": result.segment_s})
            print(f"{name:32s} {method:20s} {result.n_nuclei:6d} nuclei, median area "
                  f"{rows[-1]['median_area_um2']:.1f} µm², {result.segment_s:.1f} s", flush=True)
        with Slide(path, mpp=mpp) as slide:
            level0_mpp = slide.mpp
        n = match(found["scale-ssl"], found["cellprofiler-style"], MATCH_UM / level0_mpp)
        precision = n / max(len(found["scale-ssl"]), 1)
        recall = n / max(len(found["cellprofiler-style"]), 1)
        agreement = {"slide": name, "matched": n, "precision": precision, "recall": recall,
                     "f1": 2 * n / max(len(found["scale-ssl"]) + len(found["cellprofiler-style"]), 1)}
        rows.append({"agreement_scale_ssl_vs_cellprofiler": agreement})
        print(f"{name:32s} agreement: {n} matched within {MATCH_UM} µm, F1 {agreement['f1']:.3f}", flush=True)
    path = write_json(RESULTS / "slide_methods.json", {"what": __doc__.splitlines()[0], "match_um": MATCH_UM,
                                                       "rows": rows, "machine": machine_info()})
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
