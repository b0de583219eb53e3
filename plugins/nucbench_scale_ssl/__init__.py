"""The reference self-supervised method: scale classification with attention (Sahasrabudhe et al., 2020).

Registers the pretext task ``scale-classification``, the attention backbones ``dilated-resnet``
(the paper's F) and ``dilated-lite`` (efficient), the regularizers ``sparsity``, ``smoothness``,
``equivariance``, ``scale-equivariance`` and ``hematoxylin-prior``, and the segmenter ``scale-ssl`` (F + tuned
post-processing, with shipped weights). Nothing heavy is imported here.
"""

from nucbench import hookimpl

_REF = "Sahasrabudhe et al., MICCAI 2020"


@hookimpl
def nucbench_register(registries):
    """Register this package's entries (lazy builders)."""
    registries["pretext-task"].register(
        "scale-classification",
        "nucbench_scale_ssl.pretext:ScaleClassification",
        description="Classify 10x/20x/40x crops from the attended image A*I (timm classifier G).",
        reference=_REF + ", eq. (2)",
    )
    registries["attention-backbone"].register(
        "dilated-resnet",
        "nucbench_scale_ssl.backbones:DilatedResNet",
        description="The paper's F: dilated residual blocks (1,2,3,5,10,20) at full resolution, 446k params.",
        reference=_REF + ", Fig. 1",
    )
    registries["attention-backbone"].register(
        "dilated-lite",
        "nucbench_scale_ssl.backbones:DilatedLite",
        description="Efficient F: narrow dilated residual blocks at half resolution, upsampled.",
    )
    registries.regularizer.register(
        "sparsity",
        "nucbench_scale_ssl.regularizers:Sparsity",
        description="A = sigmoid(r(a - tau)), tau the batch mean of each image's eta-th percentile.",
        reference=_REF + ", eq. (1)",
    )
    registries.regularizer.register(
        "smoothness",
        "nucbench_scale_ssl.regularizers:Smoothness",
        description="Mean absolute spatial gradient of the attention map.",
        reference=_REF + ", eq. (3)",
    )
    registries.regularizer.register(
        "equivariance",
        "nucbench_scale_ssl.regularizers:Equivariance",
        description="Squared difference between t(A(I)) and A(t(I)) for a random flip/transpose/rotation.",
        reference=_REF + ", eq. (4)",
    )
    registries.regularizer.register(
        "scale-equivariance",
        "nucbench_scale_ssl.regularizers:ScaleEquivariance",
        description="Squared difference between D(A(I)) and A(D(I)) for x2 downsampling D of 20x/40x crops.",
        reference="the authors' code (equiv_scale_mse)",
    )
    registries.regularizer.register(
        "hematoxylin-prior",
        "nucbench_scale_ssl.regularizers:HematoxylinPrior",
        description="Label-free prior pulling A towards high hematoxylin optical density.",
        reference="Ruifrok & Johnston, AQCH 23(4), 2001",
    )
    registries.segmenter.register(
        "scale-ssl",
        "nucbench_scale_ssl.segmenter:ScaleSSLSegmenter",
        description="Trained scale-classification attention network F + tuned watershed (shipped weights).",
        reference=_REF,
    )
