"""Sampler throughput next to what a training step consumes (goal: sampler ≥ 5× faster).

Times ``MultiScaleCropSampler.sample()`` on the 19 real MoNuSeg training tiles in both modes
(``pyramid``, the faithful protocol; ``shared-resample`` with augmentation, the shortcut fix), then
on a real slide read at its true pyramid levels (``SlideCropSource``: TCGA-CR-7395-01A-01-TS1.svs,
JPEG 2000, levels at downsample 1 and 2, taken as 40x with ``mpp=0.25``; 20x crops are level 1
as it is, 10x crops level 1 halved) in both modes and with per-crop stain normalisation, and one
training step of the shipped configuration (from ``train_speed.py``), in the same process.
Every sampler uses its default threads (one per core, as in training); the stain-normalised slide
row is repeated with one thread to show what the threads add, and with every crop read through
OpenSlide (``preload_mb=0``) instead of cut from the slide's levels held in memory (the default
for a slide whose levels fit in ``preload_mb``, as this one's 59 MB do), and the stain normalisation of a
crop is timed alone: the slide's colour table as those rows left it against ``reinhard_normalise``.
Writes ``benchmarks/results/ssl_data_throughput.json``.

    python benchmarks/data_throughput.py [--batches 10]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from bench_record import DATA, RESULTS, machine_info, write_json
from train_speed import CONFIGS, build

import nucbench
from nucbench.data.sampling import MultiScaleCropSampler, SlideCropSource
from nucbench.data.stain import reinhard_normalise

SLIDE = "wsi/TCGA-CR-7395-01A-01-TS1.svs"


def normalisation_cost(slide: SlideCropSource) -> dict:
    """ms per 160-px crop: the slide's colour table as the sampler rows left it, and Reinhard anew."""
    raw = SlideCropSource(DATA / SLIDE, mpp=0.25)
    rng = np.random.default_rng(1)
    crops = [raw.crop(rng, m, 160, jitter=1.4, scale=1.2) for m in (10, 20, 40) * 16]
    colours = slide.normaliser.colours
    start = time.perf_counter()
    for crop in crops:
        slide.normaliser(crop)
    table = (time.perf_counter() - start) / len(crops)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # lab2rgb clipping out-of-gamut pixels
        for crop in crops:
            reinhard_normalise(crop, statistics=slide.statistics)
    direct = (time.perf_counter() - start) / len(crops)
    return {"crops": len(crops), "colours_in_table_before": colours, "table_ms_per_crop": 1e3 * table,
            "reinhard_normalise_ms_per_crop": 1e3 * direct}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=24)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "ssl_data_throughput.json"))
    args = parser.parse_args()
    info = machine_info()
    dataset = nucbench.create("dataset", "monuseg", root=str(DATA), split="train", labels="none")
    tiles = [dataset[i].image for i in range(len(dataset))]
    rows = {}

    def measure(name, sources, mode, workers=None, **extra):
        start = time.perf_counter()  # for slides: tissue positions, and the levels read into memory
        sampler = MultiScaleCropSampler(
            sources, batch_size=args.batch_size, mode=mode, seed=0, workers=workers
        )
        extra["prepare_seconds"] = time.perf_counter() - start
        extra["slide_levels_in_memory"] = [list(s.preloaded_levels) for s in sources
                                           if isinstance(s, SlideCropSource)]
        sampler.sample()
        start = time.perf_counter()
        for _ in range(args.batches):
            sampler.sample()
        seconds = (time.perf_counter() - start) / args.batches
        sampler.close()
        rows[name] = {"seconds_per_batch": seconds, "crops_per_second": args.batch_size / seconds,
                      "threads": sampler.workers, **extra}

    for mode in ("pyramid", "shared-resample"):
        measure(mode, tiles, mode, source="19 MoNuSeg training tiles (40x)")
    for normalise in (False, True):
        start = time.perf_counter()
        slide = SlideCropSource(DATA / SLIDE, mpp=0.25, stain_normalize=normalise)
        setup = time.perf_counter() - start  # open, tissue mask (and stain statistics), once per slide
        for mode in ("pyramid", "shared-resample") if not normalise else ("shared-resample",):
            name = f"slide {mode}" + (" + stain normalisation" if normalise else "")
            measure(name, [slide], mode, source=f"{SLIDE} (mpp 0.25 given)", setup_seconds=setup)
        if normalise:
            measure("slide shared-resample + stain normalisation, 1 thread", [slide], "shared-resample",
                    workers=1, source=f"{SLIDE} (mpp 0.25 given)", setup_seconds=setup)
            stain = normalisation_cost(slide)
    start = time.perf_counter()
    per_crop = SlideCropSource(DATA / SLIDE, mpp=0.25, stain_normalize=True, preload_mb=0)
    setup = time.perf_counter() - start
    measure("slide shared-resample + stain normalisation, read per crop", [per_crop], "shared-resample",
            source=f"{SLIDE} (mpp 0.25 given), preload_mb=0", setup_seconds=setup)
    step, *_ = build(CONFIGS["shipped"], args.batch_size, 160)
    step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    step_seconds = float(np.median(times))
    consumption = args.batch_size / step_seconds
    for mode, row in rows.items():
        row["ratio_to_training_consumption"] = row["crops_per_second"] / consumption
        print(
            f"sampler {mode:45s} {row['crops_per_second']:8.1f} crops/s  "
            f"= {row['ratio_to_training_consumption']:.1f}x what training consumes"
        )
    print(f"training step (shipped config): {consumption:.1f} samples/s (includes its own sampling)")
    print(
        f"stain normalisation of a crop: {stain['table_ms_per_crop']:.1f} ms with the slide's colour table "
        f"({stain['colours_in_table_before']} colours), {stain['reinhard_normalise_ms_per_crop']:.1f} ms "
        "with reinhard_normalise"
    )
    write_json(
        args.out,
        {
            "machine": info,
            "batch_size": args.batch_size,
            "samplers": rows,
            "training_samples_per_second": consumption,
            "stain_normalisation": stain,
            "step_seconds": times,
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
