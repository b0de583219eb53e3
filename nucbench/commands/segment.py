"""``nucbench segment INPUT... --method NAME --out DIR``: instance labels for image files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nucbench.errors import ConfigError, InputError


def add_parser(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "segment", parents=[common], help="segment image files with a registered method",
        description="Segment image files (PNG, TIFF, JPEG) or folders of them with a registered "
                    "segmenter and write DIR/<stem>.png: 16-bit instance labels (0 = background), "
                    "or <stem>.tif (32-bit) above 65535 objects. Inputs already done are skipped. "
                    "Whole slides are segmented tile by tile (see 'whole-slide inputs').",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, slides or folders of them")
    parser.add_argument("--method", required=True, metavar="NAME",
                        help="registered segmenter (nucbench plugins list --kind segmenter)")
    parser.add_argument("--checkpoint", metavar="PATH",
                        help="weights file, passed to the segmenter as its checkpoint parameter")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="segmenter parameter, VALUE read as YAML (0.5, true, null, text); repeatable")
    parser.add_argument("--mpp", type=float, metavar="UM",
                        help="microns per pixel of the inputs, passed to the segmenter (for a slide: "
                             "its level-0 µm/px, overriding the metadata)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="segment inputs already done again")
    from nucbench.slide_segment import add_slide_arguments

    add_slide_arguments(parser)  # whole-slide inputs: nucbench/slide_segment.py
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nucbench.cliparams import parse_key_values
    from nucbench.plugins import get_plugin_manager
    from nucbench.segment import InputKind, expand_inputs, segment_paths

    params = parse_key_values(args.param, "--param")
    if args.checkpoint is not None:
        if "checkpoint" in params:
            raise ConfigError("give the checkpoint either with --checkpoint or with --param, not both")
        if not Path(args.checkpoint).is_file():
            raise InputError(f"--checkpoint {args.checkpoint}: no such file")
        params["checkpoint"] = str(args.checkpoint)
    # The one dispatch on the kind of each input (classified by nucbench.segment.classify_input).
    inputs = expand_inputs(args.inputs)
    if not inputs:
        raise InputError(f"{', '.join(args.inputs)}: no image files (PNG, TIFF, JPEG) found")
    slides = [path for path, kind in inputs if kind is InputKind.SLIDE]
    images = [path for path, kind in inputs if kind is not InputKind.SLIDE]
    manager = get_plugin_manager()
    entry = manager.registries.segmenter.get(args.method)
    if "checkpoint" in params and "checkpoint" not in entry.parameters():
        raise ConfigError(f"segmenter '{entry.name}' takes no checkpoint (it uses no weights)")
    if slides:  # whole slides: tiled, stitched, QuPath GeoJSON (nucbench/slide_segment.py)
        from nucbench.slide_segment import run_slide_inputs

        run_slide_inputs(args, slides, entry.name, params)
    if not images:
        return 0
    segmenter = manager.create("segmenter", entry.name, **params)
    outputs = segment_paths(segmenter, images, args.out, overwrite=args.overwrite,
                            mpp=args.mpp, name=entry.name, progress=sys.stderr.isatty())
    print(f"{len(outputs)} label image(s) in {args.out}")
    return 0
