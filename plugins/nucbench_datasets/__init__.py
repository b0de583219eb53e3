"""Built-in datasets: MoNuSeg 2018, a generic image + mask folder, and whole slides for training."""

from nucbench import hookimpl


@hookimpl
def nucbench_register(registries):
    """Register the ``monuseg``, ``folder`` and ``slides`` datasets (lazy: nothing is imported here)."""
    registries.dataset.register(
        "monuseg", "nucbench_datasets.monuseg:MonusegDataset",
        description="MoNuSeg 2018 H&E tiles (40x) with XML nuclei; splits test, train, val, train-all.",
        magnification=40, mpp=0.25,
        reference="Kumar et al., IEEE TMI 36(7), 2017",
    )
    registries.dataset.register(
        "folder", "nucbench_datasets.folder:FolderDataset",
        description="Images and instance masks from two folders matched by stem (PNG/TIFF/NPY).",
    )
    registries.dataset.register(
        "slides", "nucbench_datasets.slides:SlidesDataset",
        description="Whole slides as unlabelled training data (crops read at the true pyramid levels).",
    )
