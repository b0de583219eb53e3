"""Accuracy and cost of a scale-ssl model's output-changing inference options: `scale`, `tile`, `tta`.

For each setting (``scale`` = resize factor before F, ``tile``/``overlap`` of the tiling, and
optionally ``tta``, the 8-fold dihedral test-time augmentation) the
``scale-ssl`` segmenter's attention maps of the 11 MoNuSeg validation tiles are computed once, the
watershed parameters are grid-searched on them by mean AJI (the trainer's grid plus the shipped
value), and each setting's best parameters are then applied to the 14 test tiles (and, for
comparison, the checkpoint's own parameters, which ``nucbench segment --param scale=...`` uses).
Selection uses the validation tiles only; the test AJI of every row is reported. CPU seconds
(this process, all threads) of the attention maps are recorded beside each row. Writes
``benchmarks/results/ssl_infer_scale.json`` (or ``--out``)::

    NUCBENCH_DATA=../shared/data python benchmarks/infer_scale.py [--checkpoint runs/NAME/best.pt] \
        [--settings 1.0,512,128 0.5,512,128 1.0,1024,256,tta]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from bench_record import RESULTS, cpu_seconds, machine_info, write_json

from nucbench.plugins import get_plugin_manager

#: (scale, tile, overlap) settings; the first is the shipped default.
SETTINGS = [(1.0, 512, 128), (1.0, 576, 128), (1.0, 640, 128), (1.0, 1024, 256),
            (0.75, 512, 128), (0.5, 512, 128)]
GRID = {"threshold": [0.002, 0.01, 0.05, 0.2, 0.5], "sigma": [1.0, 2.0], "peak_radius": [4, 7]}


def parse_setting(item: str, parser: argparse.ArgumentParser) -> tuple[float, int, int, bool]:
    """``SCALE,TILE,OVERLAP`` or ``SCALE,TILE,OVERLAP,tta`` → (scale, tile, overlap, tta)."""
    parts = item.split(",")
    try:
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "tta"):
            raise ValueError
        return float(parts[0]), int(parts[1]), int(parts[2]), len(parts) == 4
    except ValueError:
        parser.error(f"--settings {item!r}: expected SCALE,TILE,OVERLAP or SCALE,TILE,OVERLAP,tta")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS / "ssl_infer_scale.json"))
    parser.add_argument("--checkpoint", default=None, help="a best.pt (default: the shipped model)")
    parser.add_argument("--settings", nargs="+", default=None, metavar="SCALE,TILE,OVERLAP[,tta]",
                        help="settings to compare (default: %(default)s = the built-in list)")
    args = parser.parse_args()
    settings = [(*s, False) for s in SETTINGS] if args.settings is None else [
        parse_setting(item, parser) for item in args.settings
    ]
    info = machine_info()
    manager = get_plugin_manager()
    aji = manager.create("metric", "aji")
    val = list(manager.create("dataset", "monuseg", split="val"))
    test = list(manager.create("dataset", "monuseg", split="test"))
    watershed = manager.create("post-processor", "watershed")

    def mean_aji(samples, maps, params) -> float:
        pairs = zip(samples, maps, strict=True)
        return float(np.mean([aji(s.labels, watershed(a, **params)) for s, a in pairs]))

    rows = []
    for scale, tile, overlap, tta in settings:
        segmenter = manager.create("segmenter", "scale-ssl", checkpoint=args.checkpoint, scale=scale,
                                   tile=tile, overlap=overlap, tta=tta)
        start = cpu_seconds()
        maps = [segmenter.attention(sample.image) for sample in val]
        val_cpu = cpu_seconds() - start
        scores = {}
        for values in itertools.product(*GRID.values()):
            params = dict(zip(GRID, values, strict=True))
            scores[values] = mean_aji(val, maps, params)
        best = max(scores, key=scores.get)
        params = dict(zip(GRID, best, strict=True))
        start = cpu_seconds()
        test_maps = [segmenter.attention(sample.image) for sample in test]
        test_cpu = cpu_seconds() - start
        test_aji = mean_aji(test, test_maps, params)
        shipped_params = segmenter.post_processor_spec["params"]
        shipped = tuple(shipped_params.get(k) for k in GRID)
        row = {"scale": scale, "tile": tile, "overlap": overlap, "tta": tta, "val_aji": scores[best],
               "val_aji_shipped_params": scores.get(shipped), "post_processor_params": params,
               "test_aji": test_aji, "test_aji_shipped_params": mean_aji(test, test_maps, shipped_params),
               "val_attention_cpu_seconds": val_cpu,
               "test_attention_cpu_seconds": test_cpu}
        rows.append(row)
        name = f"scale {scale:4.2f} tile {tile:4d}/{overlap:3d}{' tta' if tta else ''}"
        print(f"{name}: val AJI {row['val_aji']:.4f} {params}  "
              f"test AJI {test_aji:.4f} ({row['test_aji_shipped_params']:.4f} with the checkpoint's "
              f"parameters)  attention CPU-s per tile {test_cpu / len(test):.2f}", flush=True)
    best = max(rows, key=lambda r: r["val_aji"])
    print(f"best on validation: scale {best['scale']}, tile {best['tile']}, tta {best['tta']}: "
          f"test AJI {best['test_aji']:.4f}")
    write_json(args.out, {"machine": info, "checkpoint": args.checkpoint or "shipped", "grid": GRID,
                          "rows": rows, "best_on_validation": best})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
