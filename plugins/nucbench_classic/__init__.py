"""Classical baselines: CellProfiler-style, Fiji-style and plain Otsu nuclei segmenters.

Registered lazily (``"module:Class"``), so importing this package imports nothing heavy.
"""

from nucbench import hookimpl


@hookimpl
def nucbench_register(registries):
    """Register the ``cellprofiler-style``, ``fiji-style`` and ``otsu`` segmenters."""
    registries.segmenter.register(
        "cellprofiler-style", "nucbench_classic.cellprofiler:CellProfilerStyle",
        description="CellProfiler IdentifyPrimaryObjects on hematoxylin: Otsu, declumping watershed.",
        reference="Carpenter et al., Genome Biology 7, R100, 2006", mpp=0.25,
        stock="nucbench_classic.cellprofiler:STOCK",
    )
    registries.segmenter.register(
        "fiji-style", "nucbench_classic.fiji:FijiStyle",
        description="Fiji: colour deconvolution, rolling ball, blur, auto-threshold, watershed, particles.",
        reference="Schindelin et al., Nature Methods 9, 676-682, 2012", mpp=0.25,
        stock="nucbench_classic.fiji:STOCK",
    )
    registries.segmenter.register(
        "otsu", "nucbench_classic.otsu:OtsuSegmenter",
        description="Global Otsu on hematoxylin (or grey) optical density + connected components (floor).",
        reference="Otsu, IEEE TSMC 9(1), 1979", mpp=0.25,
        stock="nucbench_classic.otsu:STOCK",
    )
