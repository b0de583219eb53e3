"""Inference throughput (Mpx/s): the paper's F vs the shipped F, and the shipped segmenter end to end.

Rows, all in this process on one real 1000×1000 MoNuSeg test tile (fp32, eval mode):
``faithful F`` (dilated-resnet, width 64, random weights: speed does not depend on them),
``shipped F``, ``shipped F + post-processing`` (the ``scale-ssl`` segmenter: Reinhard
normalisation, tiled F, tuned watershed) and the same with 8-fold TTA. Writes
``benchmarks/results/ssl_infer_speed.json``.

    python benchmarks/infer_speed.py [--repeats 2] [--checkpoint best.pt]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from bench_record import DATA, RESULTS, machine_info, write_json

import nucbench
from nucbench.data.io import read_image
from nucbench.infer import predict_tiled


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--checkpoint", default=None, help="model to time (default: the shipped one)")
    parser.add_argument(
        "--faithful-size", type=int, default=512, help="side of the crop the (slow) faithful F is timed on"
    )
    parser.add_argument("--out", default=str(RESULTS / "ssl_infer_speed.json"))
    args = parser.parse_args()
    info = machine_info()
    path = sorted((DATA / "monuseg" / "test" / "images").glob("*.tif"))[0]
    image = read_image(path)
    mpx = image.shape[0] * image.shape[1] / 1e6
    segmenter = nucbench.create("segmenter", "scale-ssl", checkpoint=args.checkpoint)
    faithful = nucbench.create("attention-backbone", "dilated-resnet").eval()
    crop = image[: args.faithful_size, : args.faithful_size]
    crop_mpx = crop.shape[0] * crop.shape[1] / 1e6

    def f_only(model, img):
        return lambda: predict_tiled(lambda x: torch.sigmoid(model(x)), img, tile=512, overlap=128)

    rows = {}
    seconds = timed(f_only(faithful, crop), args.repeats)
    rows["faithful F (dilated-resnet w64)"] = {"seconds": seconds, "megapixels": crop_mpx}
    seconds = timed(f_only(segmenter.backbone, image), args.repeats)
    rows["shipped F"] = {"seconds": seconds, "megapixels": mpx}
    seconds = timed(lambda: segmenter.segment(image), args.repeats)
    rows["shipped F + post-processing"] = {"seconds": seconds, "megapixels": mpx}
    segmenter.tta = True
    seconds = timed(lambda: segmenter.segment(image), 1)
    rows["shipped F + post-processing, 8x TTA"] = {"seconds": seconds, "megapixels": mpx}
    for name, row in rows.items():
        row["mpx_per_second"] = row["megapixels"] / row["seconds"]
        print(
            f"{name:38s} {row['mpx_per_second']:7.3f} Mpx/s  "
            f"({row['seconds']:.2f} s for {row['megapixels']:.2f} Mpx)"
        )
    ratio = rows["shipped F"]["mpx_per_second"] / rows["faithful F (dilated-resnet w64)"]["mpx_per_second"]
    print(f"shipped F / faithful F: {ratio:.1f}x")
    write_json(
        args.out,
        {
            "machine": info,
            "image": path.name,
            "checkpoint": str(segmenter.checkpoint),
            "post_processor": segmenter.post_processor_spec,
            "rows": rows,
            "shipped_over_faithful_F": ratio,
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
