"""Supervised reference baseline: a small U-Net trained on the MoNuSeg training tiles.

Registered lazily, so importing this package does not import torch.
"""

from nucbench import hookimpl


@hookimpl
def nucbench_register(registries):
    """Register the ``supervised-unet`` segmenter."""
    registries.segmenter.register(
        "supervised-unet", "nucbench_supervised.segmenter:SupervisedUNet",
        description="Small U-Net (foreground + distance map) trained on the 19 MoNuSeg training tiles.",
        reference="Ronneberger et al., MICCAI 2015; Naylor et al., IEEE TMI 38(2), 2019", mpp=0.25,
        weights="nucbench_supervised/weights/supervised_unet.pt",
        stock="nucbench_supervised.segmenter:STOCK",
    )
