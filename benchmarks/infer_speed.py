"""Inference throughput (Mpx/s): the paper's F, the previous and the current shipped path, end to end.

All rows run in this process on one real 1000×1000 MoNuSeg test tile (fp32, eval mode), in
interleaved rounds (each repeat runs every row once, so that a change in machine load hits all
rows alike); the median of the repeats is kept, as wall time and as this process's CPU time
(user + system, all threads: on a loaded machine wall time overstates the work).

- ``faithful F``: the paper's dilated-resnet (width 64, random weights: speed does not depend on
  them), as an eval-mode module, on a crop;
- ``previous shipped F``: the shipped checkpoint's eval-mode module, NCHW, tile 512 / overlap 128,
  as the segmenter ran it before the speed-ups; ``shipped F``: the same tiles through the folded,
  fused, channels-last network the segmenter runs now (``nucbench_scale_ssl.fusion``);
- ``previous shipped F + post-processing``: Reinhard normalisation converting every pixel, the
  previous F path, the sparsity activation and the watershed as implemented before (skimage
  opening/closing, ``ndi.maximum_position``; both kept below as the baseline);
  ``shipped F + post-processing``: the ``scale-ssl`` segmenter as shipped (Reinhard converting
  each distinct colour once) but at ``scale=1``, F at full resolution like the previous path; the
  run checks that both give the same labels;
- the shipped model with its own default settings (its ``inference.scale``, chosen on the
  validation tiles); when it is an ensemble, that row runs every member, the rows above and
  below run its first member alone (like for like with the previous single-model path);
- output-changing variants: ``tile=1024`` (one piece per MoNuSeg tile), ``scale=0.5`` (F at 20x;
  accuracy of both in ``benchmarks/infer_scale.py``), and 8-fold TTA;
- a breakdown of the shipped path: stain normalisation (and the previous per-pixel one), tiled
  F + activation, post-processing;
- the end-to-end rows again with one torch thread (``[1 thread]``): the work per core, which
  other jobs on the machine distort less than a 2-thread wall time.

Writes ``benchmarks/results/ssl_infer_speed.json``::

    python benchmarks/infer_speed.py [--repeats 3] [--checkpoint best.pt]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from bench_record import DATA, RESULTS, machine_info, time_interleaved, write_json
from nucbench_postprocess._common import check_probability, disk_peaks, remove_small
from nucbench_scale_ssl.ensemble import member
from scipy import ndimage as ndi

import nucbench
from nucbench.data.io import read_image
from nucbench.data.stain import reinhard_normalise
from nucbench.infer import predict_tiled


def previous_watershed(probability, threshold=0.5, open_radius=2, close_radius=1, sigma=1.0,
                       peak_radius=7, min_size=0):
    """``nucbench_postprocess.watershed`` before the speed-up (commit 0f1f530), the baseline."""
    from skimage.morphology import closing, disk, opening
    from skimage.segmentation import watershed

    probability = check_probability(probability)
    mask = probability > threshold
    if open_radius > 0:
        mask = opening(mask, disk(open_radius))
    if close_radius > 0:
        mask = closing(mask, disk(close_radius))
    if not mask.any():
        return np.zeros(mask.shape, dtype=np.int32)
    distance = ndi.distance_transform_edt(mask)
    if sigma > 0:
        distance = ndi.gaussian_filter(distance, sigma)
    peaks = disk_peaks(distance, peak_radius, mask)
    markers, n_markers = ndi.label(peaks, structure=np.ones((3, 3), bool))
    components, n_components = ndi.label(mask)
    marked = np.zeros(n_components + 1, dtype=bool)
    marked[components[peaks]] = True
    unmarked = np.flatnonzero(~marked[1:]) + 1
    if unmarked.size:
        positions = ndi.maximum_position(distance, components, unmarked)
        rows, cols = np.array(positions, dtype=np.intp).reshape(-1, 2).T
        markers[rows, cols] = n_markers + 1 + np.arange(unmarked.size)
    labels = watershed(-distance, markers, mask=mask).astype(np.int32)
    return remove_small(labels, min_size)


def previous_reinhard(image):
    """``nucbench.data.stain.reinhard_normalise`` before the palette shortcut (commit 0104771)."""
    from skimage.color import lab2rgb, rgb2lab

    from nucbench.data.stain import REINHARD_TARGET_MEAN, REINHARD_TARGET_STD
    from nucbench.data.tissue import tissue_mask

    mask = tissue_mask(image)
    if mask.mean() < 0.01:
        mask = np.ones(image.shape[:2], bool)
    lab = rgb2lab(image.astype(np.float32) / 255.0)
    values = lab[mask].astype(np.float64)
    mean, std = values.mean(axis=0), values.std(axis=0)
    gain = np.divide(np.asarray(REINHARD_TARGET_STD), std, out=np.ones(3), where=std > 1e-6)
    out = ((lab - mean) * gain + np.asarray(REINHARD_TARGET_MEAN)).astype(np.float32)
    out[..., 0] = np.clip(out[..., 0], 0.0, 100.0)
    rgb = np.rint(np.clip(lab2rgb(out), 0.0, 1.0) * 255.0).astype(np.uint8)
    rgb[~mask] = image[~mask]
    return rgb


def measure(rows: dict[str, tuple[Callable[[], object], float]], repeats: int) -> dict[str, dict]:
    """Median wall and CPU seconds of each row's callable over interleaved rounds (after a warm-up)."""
    times = time_interleaved({name: fn for name, (fn, _) in rows.items()}, repeats)
    out = {}
    for name, (_, mpx) in rows.items():
        wall, cpu = float(np.median(times[name]["wall"])), float(np.median(times[name]["cpu"]))
        out[name] = {"seconds": wall, "cpu_seconds": cpu, "megapixels": mpx,
                     "mpx_per_second": mpx / wall, "mpx_per_cpu_second": mpx / cpu}
    return out


def first_member(checkpoint: Path, folder: Path) -> str:
    """`checkpoint` itself, or for an ensemble a file in `folder` holding its first member alone
    (with the ensemble's post-processing and settings)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if "members" not in state:
        return str(checkpoint)
    path = folder / "first-member.pt"
    torch.save(member(state, 0), path)
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
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
    # like for like with the previous path: F at full resolution (scale 1); the checkpoint's own
    # default scale (chosen on validation) is timed as its own row
    default = nucbench.create("segmenter", "scale-ssl", checkpoint=args.checkpoint)
    single = first_member(default.checkpoint, Path(tempfile.mkdtemp()))
    segmenter = nucbench.create("segmenter", "scale-ssl", checkpoint=single, scale=1.0)
    one_piece = nucbench.create("segmenter", "scale-ssl", checkpoint=single, scale=1.0, tile=1024,
                                overlap=256)
    half = nucbench.create("segmenter", "scale-ssl", checkpoint=single, scale=0.5)
    tta = nucbench.create("segmenter", "scale-ssl", checkpoint=single, scale=1.0, tta=True)
    n_models = len(default.members)
    default_row = (f"shipped model as shipped ({n_models} model{'s' if n_models > 1 else ''}, "
                   f"scale={default.scale:g}, from the checkpoint)")
    faithful = nucbench.create("attention-backbone", "dilated-resnet").eval()
    crop = image[: args.faithful_size, : args.faithful_size]
    crop_mpx = crop.shape[0] * crop.shape[1] / 1e6
    backbone, network, activation = segmenter.backbone, segmenter.network, segmenter.activation
    tiling = {"tile": segmenter.tile, "overlap": segmenter.overlap}
    spec = segmenter.post_processor_spec
    normalised = reinhard_normalise(image)

    def previous_attention(img):
        return predict_tiled(lambda x: activation(backbone(x)), previous_reinhard(img), **tiling)

    def previous_segment(img):
        return previous_watershed(previous_attention(img), **spec["params"])

    previous_a, shipped_a = previous_attention(image), segmenter.attention(image)
    max_difference = float(np.abs(previous_a - shipped_a).max())
    same_labels = bool(np.array_equal(previous_segment(image), segmenter.segment(image)))
    print(f"shipped vs previous path: max |ΔA| {max_difference:.2e}, identical labels: {same_labels}")

    rows = measure({
        "faithful F (dilated-resnet w64)": (
            lambda: predict_tiled(lambda x: torch.sigmoid(faithful(x)), crop, tile=512, overlap=128),
            crop_mpx),
        "previous shipped F": (lambda: predict_tiled(backbone, image, **tiling), mpx),
        "shipped F": (lambda: predict_tiled(network, image, **tiling, channels_last=True), mpx),
        "previous shipped F + post-processing": (lambda: previous_segment(image), mpx),
        "shipped F + post-processing": (lambda: segmenter.segment(image), mpx),
        "shipped F + post-processing, tile=1024 (one piece)": (lambda: one_piece.segment(image), mpx),
        "shipped F + post-processing, scale=0.5": (lambda: half.segment(image), mpx),
        default_row: (lambda: default.segment(image), mpx),
        "  of which stain normalisation": (lambda: reinhard_normalise(image), mpx),
        "  previous stain normalisation (every pixel)": (lambda: previous_reinhard(image), mpx),
        "  of which F + activation, tiled": (
            lambda: predict_tiled(lambda x: activation(network(x)), normalised, **tiling, channels_last=True),
            mpx),
        "  of which post-processing": (lambda: segmenter.post_processor(shipped_a), mpx),
        "  previous post-processing, same map": (
            lambda: previous_watershed(shipped_a, **spec["params"]), mpx),
    }, args.repeats)
    rows.update(measure({"shipped F + post-processing, 8x TTA": (lambda: tta.segment(image), mpx)}, 1))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the work per core, less exposed to other jobs' scheduling
    rows.update(measure({
        default_row + " [1 thread]": (lambda: default.segment(image), mpx),
        "previous shipped F + post-processing [1 thread]": (lambda: previous_segment(image), mpx),
        "shipped F + post-processing [1 thread]": (lambda: segmenter.segment(image), mpx),
        "shipped F + post-processing, tile=1024 [1 thread]": (lambda: one_piece.segment(image), mpx),
        "shipped F + post-processing, scale=0.5 [1 thread]": (lambda: half.segment(image), mpx),
    }, args.repeats))
    torch.set_num_threads(threads)
    for name, row in rows.items():
        print(f"{name:52s} {row['mpx_per_second']:6.3f} Mpx/s wall ({row['seconds']:.2f} s), "
              f"{row['mpx_per_cpu_second']:6.3f} Mpx per CPU-s ({row['cpu_seconds']:.2f} CPU-s) "
              f"for {row['megapixels']:.2f} Mpx")
    ratios = {
        "shipped_F_over_faithful_F": rows["shipped F"]["mpx_per_second"]
        / rows["faithful F (dilated-resnet w64)"]["mpx_per_second"],
        "shipped_F_over_previous_F": rows["shipped F"]["mpx_per_second"]
        / rows["previous shipped F"]["mpx_per_second"],
        "shipped_end_to_end_over_previous": rows["shipped F + post-processing"]["mpx_per_second"]
        / rows["previous shipped F + post-processing"]["mpx_per_second"],
        "shipped_end_to_end_over_previous_cpu": rows["shipped F + post-processing"]["mpx_per_cpu_second"]
        / rows["previous shipped F + post-processing"]["mpx_per_cpu_second"],
        "post_processing_over_previous_cpu": rows["  of which post-processing"]["mpx_per_cpu_second"]
        / rows["  previous post-processing, same map"]["mpx_per_cpu_second"],
        "stain_normalisation_over_previous_cpu": rows["  of which stain normalisation"]["mpx_per_cpu_second"]
        / rows["  previous stain normalisation (every pixel)"]["mpx_per_cpu_second"],
    }
    for name, ratio in ratios.items():
        print(f"{name}: {ratio:.2f}x")
    goal = {"target_mpx_per_second": 1.0}
    for name in ("shipped F + post-processing", "shipped F + post-processing, scale=0.5", default_row):
        row = rows[name]
        goal[name] = {"met_wall": row["mpx_per_second"] >= 1.0,
                      "met_cpu_time": row["mpx_per_cpu_second"] >= 1.0}
        print(f"goal ≥ 1 Mpx/s, {name} (no TTA): wall {goal[name]['met_wall']}, "
              f"CPU time {goal[name]['met_cpu_time']}")
    info["load_average_at_end"] = os.getloadavg()
    write_json(
        args.out,
        {
            "machine": info,
            "image": path.name,
            "checkpoint": str(default.checkpoint),
            "models_in_checkpoint": n_models,
            "tiling": tiling,
            "post_processor": spec,
            "fused_network": type(network).__name__,
            "onednn_fusion": bool(getattr(network, "onednn", False)),
            "shipped_vs_previous": {
                "max_abs_difference_of_A": max_difference,
                "identical_labels": same_labels,
            },
            "rows": rows,
            "ratios": ratios,
            "goal": goal,
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
