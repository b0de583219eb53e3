"""Built-in metrics: AJI, AJI+, object Dice/Hausdorff (GlaS), PQ/DQ/SQ, pixel Dice, detection P/R/F1.

Every metric is a plain function ``metric(true_labels, pred_labels) -> float`` registered with
``bind=True``. Each declares ``higher_is_better`` and its dataset ``aggregation`` (the mean of
per-image values, as MoNuSeg reports); a ratio metric also names ``pooled_terms``, a function
returning its per-image (numerator, denominator), whose sums over a dataset give the pooled value
(for AJI: total intersection over total union of the whole set). They all read the overlap table of
the pair through ``nucbench.Overlap.of``, so scoring several metrics of one image counts it once.
"""

from nucbench import hookimpl

_METRICS = (
    # name, builder, higher_is_better, description, reference, extra metadata
    ("aji", "nucbench_metrics.aji:aji", True,
     "Aggregated Jaccard Index, MoNuSeg 2018 definition (best-IoU match per nucleus).",
     "Kumar et al., IEEE TMI 36(7), 2017", {"pooled_terms": "nucbench_metrics.aji:aji_terms"}),
    ("aji-plus", "nucbench_metrics.aji:aji_plus", True,
     "AJI+: Aggregated Jaccard Index with a one-to-one (Hungarian) matching.",
     "Graham et al., Medical Image Analysis 58, 2019",
     {"pooled_terms": "nucbench_metrics.aji:aji_plus_terms"}),
    ("adc", "nucbench_metrics.glas:adc", True,
     "Object-level Dice (GlaS), area-weighted in both directions.",
     "Sirinukunwattana et al., Medical Image Analysis 35, 2017, eq. (4)", {}),
    ("ahd", "nucbench_metrics.glas:ahd", False,
     "Object-level Hausdorff distance in pixels (GlaS), area-weighted in both directions.",
     "Sirinukunwattana et al., Medical Image Analysis 35, 2017, eq. (6)", {"unit": "px"}),
    ("pq", "nucbench_metrics.matching:pq", True,
     "Panoptic quality DQ × SQ with matches at IoU > 0.5.",
     "Kirillov et al., CVPR 2019; Graham et al., Medical Image Analysis 58, 2019", {}),
    ("dq", "nucbench_metrics.matching:dq", True,
     "Detection quality of PQ: F1 of the matching at IoU > 0.5.",
     "Kirillov et al., CVPR 2019", {}),
    ("sq", "nucbench_metrics.matching:sq", True,
     "Segmentation quality of PQ: mean IoU of the pairs matched at IoU > 0.5.",
     "Kirillov et al., CVPR 2019", {}),
    ("dice", "nucbench_metrics.pixel:dice", True,
     "Pixel Dice of the foregrounds (instances ignored).",
     "Dice, Ecology 26(3), 1945", {"pooled_terms": "nucbench_metrics.pixel:dice_terms"}),
    ("precision", "nucbench_metrics.matching:precision", True,
     "Detection precision: predicted objects matched at IoU > 0.5, over all predicted.",
     "Kirillov et al., CVPR 2019 (matching)", {}),
    ("recall", "nucbench_metrics.matching:recall", True,
     "Detection recall: ground-truth objects matched at IoU > 0.5, over all ground truth.",
     "Kirillov et al., CVPR 2019 (matching)", {}),
    ("f1", "nucbench_metrics.matching:f1", True,
     "Detection F1 at IoU > 0.5 (equals DQ).",
     "Kirillov et al., CVPR 2019 (matching)", {}),
)


@hookimpl
def nucbench_register(registries):
    """Register the built-in metrics (lazy: nothing heavy is imported here)."""
    for name, builder, higher, description, reference, extra in _METRICS:
        registries.metric.register(
            name, builder, description=description, bind=True, higher_is_better=higher,
            aggregation="mean", reference=reference, **extra,
        )
