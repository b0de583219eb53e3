"""An example third-party nucbench plugin: a regularizer that pulls the nuclei fraction to a prior.

Install it (``pip install examples/nucbench-area-prior``) and ``area-prior`` appears in
``nucbench plugins list --kind regularizer`` and can be named in any experiment YAML.
"""

from nucbench import hookimpl


class AreaPrior:
    """Pull the mean attention towards the expected nuclei area fraction.

    Loss ``(mean(A) - fraction) ** 2``, averaged over the batch.

    Parameters
    ----------
    fraction : float, optional
        Expected fraction of pixels inside nuclei (default 0.07, the paper's η = 93).
    weight : float, optional
        Weight of the term in the total loss (default 1.0).
    """

    def __init__(self, fraction: float = 0.07, weight: float = 1.0) -> None:
        self.fraction = fraction
        self.weight = weight

    def __call__(self, context):
        per_image = context.attention.mean(dim=(1, 2, 3))
        return ((per_image - self.fraction) ** 2).mean()


@hookimpl
def nucbench_register(registries):
    registries.regularizer.register("area-prior", AreaPrior)
