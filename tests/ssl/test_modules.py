"""Backbones, regularizers, tiled inference and precision choice, on tiny tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nucbench import RegularizerContext
from nucbench.infer import predict_tiled
from nucbench.precision import choose_precision


def _ctx(attention, images=None, attend=None, confidence=None, targets=None):
    return RegularizerContext(
        images=images, confidence=confidence, attention=attention, attend=attend, step=0, targets=targets
    )


def test_paper_backbone_has_the_papers_size(full_manager):
    f = full_manager.create("attention-backbone", "dilated-resnet")
    # stem 3·64·9 + 2·64 (BN) = 1856; 6 blocks × (2·64·64·9 + 4·64) = 6 × 73984 = 443904; head 65
    assert sum(p.numel() for p in f.parameters()) == 1856 + 443904 + 65  # 445,825 ≈ 446 k


@pytest.mark.parametrize(
    "name, params",
    [
        ("dilated-resnet", {"width": 4, "dilations": [1, 2]}),
        ("dilated-lite", {"width": 4, "dilations": [1, 3]}),
        ("dilated-lite", {"width": 4, "separable": True}),
    ],
)
def test_backbones_map_any_size_to_one_channel(full_manager, name, params):
    f = full_manager.create("attention-backbone", name, **params).eval()
    assert f(torch.zeros(2, 3, 21, 34)).shape == (2, 1, 21, 34)


def test_smoothness_is_zero_on_a_constant_map(full_manager):
    reg = full_manager.create("regularizer", "smoothness")
    assert float(reg(_ctx(torch.full((2, 1, 8, 8), 0.3)))) == 0.0


def test_equivariance_is_zero_for_a_pointwise_backbone(full_manager):
    conv = torch.nn.Conv2d(3, 1, 1)
    images = torch.rand(4, 3, 8, 8)
    attend = lambda x: torch.sigmoid(conv(x))  # noqa: E731  (a 1×1 conv commutes with flips/rotations)
    reg = full_manager.create("regularizer", "equivariance")
    assert float(reg(_ctx(attend(images), images=images, attend=attend))) == pytest.approx(0.0, abs=1e-12)


def test_sparsity_tau_is_the_batch_mean_percentile_and_ema_is_used_in_eval(full_manager):
    s = full_manager.create("regularizer", "sparsity", eta=50, r=20)
    # image 0: 0..15 (median 7.5), image 1: 100..115 (median 107.5); tau = mean = 57.5
    a = torch.stack([torch.arange(16.0), torch.arange(100.0, 116.0)]).view(2, 1, 4, 4)
    assert float(s.batch_tau(a)) == pytest.approx(57.5)
    s.train()
    A = s.activate(a, update_stats=True)
    assert float(s.tau_ema) == pytest.approx(57.5)
    assert float(A[0].max()) < 1e-6 and float(A[1].min()) > 1 - 1e-6  # far below / above tau
    s.eval()
    assert float(s.activate(torch.full((1, 1, 1, 1), 57.5))) == pytest.approx(0.5)


def test_regularizers_have_gradients(full_manager):
    backbone = full_manager.create("attention-backbone", "dilated-lite", width=4, dilations=[1])
    images = torch.rand(3, 3, 16, 16)
    sparsity = full_manager.create("regularizer", "sparsity", weight=1.0)
    a = backbone(images)
    A = sparsity.activate(a, update_stats=True)
    attend = lambda x: sparsity.activate(backbone(x))  # noqa: E731
    ctx = _ctx(A, images=images, attend=attend, confidence=a, targets=torch.tensor([0, 1, 2]))
    for name in ("sparsity", "smoothness", "equivariance", "hematoxylin-prior", "scale-equivariance"):
        reg = sparsity if name == "sparsity" else full_manager.create("regularizer", name)
        backbone.zero_grad()
        reg(ctx).backward(retain_graph=True)
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in backbone.parameters()), name


def test_hematoxylin_target_is_high_on_purple_low_on_pink(full_manager):
    reg = full_manager.create("regularizer", "hematoxylin-prior", percentile=50)
    image = torch.empty(1, 3, 4, 4)
    image[..., :2] = torch.tensor([80, 40, 130]).view(1, 3, 1, 1) / 255  # nucleus purple
    image[..., 2:] = torch.tensor([235, 170, 200]).view(1, 3, 1, 1) / 255  # eosin pink
    target = reg.target(image)
    assert float(target[..., :2].min()) > 0.9 and float(target[..., 2:].max()) < 0.1


def test_tiled_inference_equals_whole_image_inference():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 1, 5, padding=2, bias=False)  # receptive-field radius 2
    image = np.random.default_rng(0).random((37, 45, 3)).astype(np.float32)
    whole = conv(torch.from_numpy(image.transpose(2, 0, 1))[None])[0, 0].detach().numpy()
    # overlap 8: each tile's outer 8 // 4 = 2 px along shared edges (the padded ones) get weight 0
    tiled = predict_tiled(conv, image, tile=16, overlap=8)
    assert np.abs(tiled - whole).max() < 1e-5


def test_tiled_tta_of_an_equivariant_predictor_changes_nothing():
    image = np.random.default_rng(1).random((20, 20, 3)).astype(np.float32)
    plain = predict_tiled(lambda x: x[:, 1:2], image, tile=20, overlap=0)
    tta = predict_tiled(lambda x: x[:, 1:2], image, tile=20, overlap=0, tta=True)
    assert np.allclose(plain, tta, atol=1e-6)


@pytest.mark.parametrize(
    ("mkldnn_bf16", "x86_bf16_instructions", "expected"),
    [
        (False, True, "fp32"),  # oneDNN cannot do bf16 at all
        (True, False, "fp32"),  # plain AVX-512: oneDNN emulates bf16, 2.4x slower than fp32
        (True, True, "bf16"),  # AVX-512-bf16 or AMX
        (True, None, "bf16"),  # not x86 (ARM): oneDNN's answer stands
    ],
)
def test_auto_precision_uses_bf16_only_where_the_cpu_does_it_natively(
    monkeypatch, mkldnn_bf16, x86_bf16_instructions, expected
):
    import nucbench.precision as precision

    monkeypatch.setattr(precision, "_mkldnn_bf16_supported", lambda: mkldnn_bf16)
    monkeypatch.setattr(precision, "_x86_bf16_instructions", lambda: x86_bf16_instructions)
    choice = choose_precision("cpu")
    assert choice.dtype == expected
    assert choice.reason.endswith("bf16 autocast" if expected == "bf16" else "fp32")
    assert choose_precision("cpu", "fp32").dtype == "fp32"  # the override wins
    assert choose_precision("cpu", "bf16").dtype == "bf16"


def test_sparsity_image_inference_uses_each_images_own_percentile(full_manager):
    s = full_manager.create("regularizer", "sparsity", eta=90, inference="image").eval()
    a = torch.stack([torch.arange(100.0), torch.arange(100.0) + 1000]).view(2, 1, 10, 10)
    # each image: 10 of its 100 values lie above its own 90th percentile (89.1 / 1089.1)
    assert (s.activate(a) > 0.5).sum(dim=(1, 2, 3)).tolist() == [10, 10]


def test_od_head_input_makes_glass_zero_and_dark_pixels_bright(full_manager):
    task = full_manager.create("pretext-task", "scale-classification", head_input="od")
    images = torch.tensor([1.0, 1 / 255]).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    j = task.head_input(images, torch.ones(1, 1, 1, 2))
    # OD = -log10(I) / log10(255): white glass → 0, the darkest value 1/255 → 1
    assert torch.allclose(j[0, 0, 0], torch.tensor([0.0, 1.0]))


def test_equivariance_stop_gradient_keeps_the_transformed_pass_out_of_the_graph(full_manager):
    conv = torch.nn.Conv2d(3, 1, 3, padding=1)
    images = torch.rand(2, 3, 8, 8)
    seen = []

    def attend(x):
        out = torch.sigmoid(conv(x))
        seen.append(out.requires_grad)
        return out

    for stop, expected in ((False, True), (True, False)):
        reg = full_manager.create("regularizer", "equivariance", stop_gradient=stop)
        A = attend(images)
        seen.clear()
        reg(_ctx(A, images=images, attend=attend)).backward()
        assert seen == [expected]


def test_scale_equivariance_is_zero_for_a_linear_pointwise_map_and_not_for_a_fixed_pattern(full_manager):
    images = torch.rand(3, 3, 16, 16)
    targets = torch.tensor([0, 1, 2])
    reg = full_manager.create("regularizer", "scale-equivariance")
    linear = lambda x: x.mean(dim=1, keepdim=True)  # noqa: E731  (commutes with downsampling)
    assert float(reg(_ctx(linear(images), images=images, attend=linear, targets=targets))) == pytest.approx(
        0.0, abs=1e-6
    )
    # F that lights everything at the smaller size but nothing at the larger one: (0 - 1)^2
    ones = lambda x: torch.ones_like(x[:, :1])  # noqa: E731
    zeros = torch.zeros(3, 1, 16, 16)
    assert float(reg(_ctx(zeros, images=images, attend=ones, targets=targets))) == pytest.approx(1.0)


def test_scale_equivariance_uses_only_the_named_classes(full_manager):
    images = torch.rand(2, 3, 8, 8)
    calls = []

    def attend(x):
        calls.append(x.shape[0])
        return x[:, :1] ** 2

    reg = full_manager.create("regularizer", "scale-equivariance", classes=[2])
    loss = reg(_ctx(images[:, :1] ** 2, images=images, attend=attend, targets=torch.tensor([0, 1])))
    assert float(loss) == 0
    assert calls == []  # no crop of class 2: no extra pass
    reg(_ctx(images[:, :1] ** 2, images=images, attend=attend, targets=torch.tensor([2, 1])))
    assert calls == [1]
    with pytest.raises(ValueError, match="targets"):
        reg(_ctx(images[:, :1], images=images, attend=attend))


def test_the_equivariance_terms_declare_the_passes_of_f_they_run(full_manager):
    from nucbench import BackbonePass

    equivariance = full_manager.create("regularizer", "equivariance", fraction=0.5)
    assert equivariance.backbone_passes(3) == (BackbonePass(share=0.5, scale=1.0, gradient=True),)
    scale = full_manager.create("regularizer", "scale-equivariance", factor=4, classes=[2])
    assert scale.backbone_passes(3) == (BackbonePass(share=1 / 3, scale=0.25, gradient=False),)
    assert scale.backbone_passes(2) == (BackbonePass(share=0.0, scale=0.25, gradient=False),)
    assert not hasattr(full_manager.create("regularizer", "smoothness"), "backbone_passes")


def test_normalized_head_input_makes_masked_pixels_the_mean_colour(full_manager):
    from nucbench_scale_ssl.pretext import IMAGENET_MEAN, IMAGENET_STD

    task = full_manager.create("pretext-task", "scale-classification", head_input="normalized")
    images = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1).expand(1, 3, 1, 2).clone()
    images[..., 1] = 1.0
    j = task.head_input(images, torch.tensor([1.0, 0.0]).view(1, 1, 1, 2))
    assert torch.allclose(j, torch.zeros_like(j), atol=1e-6)  # the mean colour and a masked pixel: 0
    j = task.head_input(images, torch.ones(1, 1, 1, 2))
    expected = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(j[0, :, 0, 1], expected)


@pytest.mark.parametrize("wrap", ["plain", "best", "checkpoint"])
def test_backbone_starts_from_a_local_weights_file_and_keeps_the_random_stream(full_manager, tmp_path, wrap):
    torch.manual_seed(0)
    source = full_manager.create("attention-backbone", "dilated-resnet", width=4, dilations=[1, 2])
    state = source.state_dict()
    saved = {
        "plain": state,
        "best": {"backbone": {"name": "dilated-resnet"}, "state_dict": state},
        "checkpoint": {"model": {**{f"backbone.{k}": v for k, v in state.items()}, "head.w": torch.ones(3)}},
    }[wrap]
    torch.save(saved, tmp_path / "f.pt")
    draws = []
    for path in (None, str(tmp_path / "f.pt")):
        torch.manual_seed(1)
        f = full_manager.create("attention-backbone", "dilated-resnet", width=4, dilations=[1, 2],
                                pretrained_path=path)
        draws.append(float(torch.rand(1)))
    assert all(torch.equal(v, f.state_dict()[k]) for k, v in state.items())  # seed 0's F, not seed 1's
    assert draws[0] == draws[1]  # G and the crops of seed 1 draw what they would have drawn


def test_backbone_weights_of_another_shape_or_no_file_name_the_file(full_manager, tmp_path):
    from nucbench import InputError

    wide = full_manager.create("attention-backbone", "dilated-resnet", width=8, dilations=[1])
    torch.save(wide.state_dict(), tmp_path / "w8.pt")
    with pytest.raises(InputError, match=r"w8.pt: not weights of this model"):
        full_manager.create("attention-backbone", "dilated-resnet", width=4, dilations=[1],
                            pretrained_path=str(tmp_path / "w8.pt"))
    with pytest.raises(InputError, match=r"no.pt: no such file"):
        full_manager.create("attention-backbone", "dilated-lite", pretrained_path=f"{tmp_path}/no.pt")


def scale_task(manager, classifier, pretrained_path):
    return manager.create(
        "pretext-task", "scale-classification", classifier=classifier, pretrained_path=pretrained_path
    )


@pytest.mark.parametrize("wrap", ["plain", "checkpoint"])
def test_classifier_starts_from_a_local_weights_file_and_keeps_the_random_stream(
    full_manager, tmp_path, wrap
):
    task = full_manager.create("pretext-task", "scale-classification", classifier="resnet18")
    torch.manual_seed(0)
    state = task.build_head().state_dict()
    saved = {
        "plain": state,
        "checkpoint": {"model": {**{f"head.{k}": v for k, v in state.items()}, "backbone.w": torch.ones(3)}},
    }[wrap]
    torch.save(saved, tmp_path / "g.pt")
    draws = []
    for path in (None, str(tmp_path / "g.pt")):
        loaded = scale_task(full_manager, "resnet18", path)
        torch.manual_seed(1)
        g = loaded.build_head()
        draws.append(float(torch.rand(1)))
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in state.items())  # seed 0's G, not seed 1's
    assert draws[0] == draws[1]


def test_classifier_takes_imagenet_weights_except_its_classification_layer(full_manager, tmp_path):
    import timm

    imagenet = timm.create_model("resnet18", num_classes=1000).state_dict()
    torch.save(imagenet, tmp_path / "imagenet.pt")
    heads = []
    for path in (None, str(tmp_path / "imagenet.pt")):
        task = scale_task(full_manager, "resnet18", path)
        torch.manual_seed(2)
        heads.append(task.build_head().state_dict())
    random, started = heads
    assert torch.equal(started["layer4.1.conv2.weight"], imagenet["layer4.1.conv2.weight"])
    assert not torch.equal(started["layer4.1.conv2.weight"], random["layer4.1.conv2.weight"])
    assert started["fc.weight"].shape == (3, 512)  # 3 scale classes, not ImageNet's 1000
    assert torch.equal(started["fc.weight"], random["fc.weight"])  # kept its random initialisation


def test_classifier_weights_of_another_model_or_no_weights_name_the_file(full_manager, tmp_path):
    import timm

    from nucbench import InputError

    torch.save(timm.create_model("resnet18", num_classes=3).state_dict(), tmp_path / "r18.pt")
    (tmp_path / "notes.pt").write_text("not weights")
    task = scale_task(full_manager, "resnet34", str(tmp_path / "r18.pt"))
    with pytest.raises(InputError, match=r"resnet34: pretrained_path .*r18.pt: not weights of this"):
        task.build_head()
    task = scale_task(full_manager, "resnet18", str(tmp_path / "notes.pt"))
    with pytest.raises(InputError, match=r"notes.pt: not a weights file"):
        task.build_head()
