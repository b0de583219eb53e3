"""Built-in post-processors: probability map (H×W float in [0, 1]) → instance labels (H×W int32).

Both are plain functions with the map first and every option defaulted, registered with
``bind=True``, so ``nucbench.create("post-processor", "watershed", threshold=0.4)`` returns the
function with that option bound.
"""

from nucbench import hookimpl


@hookimpl
def nucbench_register(registries):
    """Register ``watershed`` and ``threshold-cc`` (lazy: nothing heavy is imported here)."""
    registries.post_processor.register(
        "watershed", "nucbench_postprocess.watershed:watershed", bind=True,
        description="The paper's pipeline: threshold, open/close, distance transform, marker watershed.",
        reference="Sahasrabudhe et al., MICCAI 2020, section 2.3",
    )
    registries.post_processor.register(
        "threshold-cc", "nucbench_postprocess.threshold:threshold_cc", bind=True,
        description="Threshold, then connected components (touching nuclei merge).",
    )
