"""The suites shipped in benchmarks/ are valid: every name, parameter and file they give resolves."""

from __future__ import annotations

from pathlib import Path

import pytest

from nucbench.suite import load_suite

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize("name", ["demo", "table1", "generalisation"])
def test_suite_plans(name):
    plan = load_suite(BENCHMARKS / f"{name}.yaml")
    assert plan.runs and plan.name == name


def test_demo_runs_on_the_bundled_sample():
    plan = load_suite(BENCHMARKS / "demo.yaml")
    roots = {run.data.params["root"] for run in plan.runs}
    assert roots == {str(BENCHMARKS.parent / "data" / "sample")}
    assert {run.method for run in plan.runs} >= {"otsu", "cellprofiler-style", "fiji-style", "scale-ssl",
                                                 "supervised-unet"}


def test_benchmark_scripts_get_an_absolute_data_root(monkeypatch, tmp_path):
    """A relative NUCBENCH_DATA must not reach a dataset as a relative root (taken under itself)."""
    import sys

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NUCBENCH_DATA", "data")
    sys.modules.pop("bench_record", None)
    try:
        from bench_record import DATA, default_data_root

        assert default_data_root() == str(tmp_path.resolve() / "data")
        assert DATA == tmp_path.resolve() / "data"
    finally:
        sys.modules.pop("bench_record", None)  # imported with this test's environment


def test_ssl_curve_reads_a_run_in_progress(monkeypatch, tmp_path):
    """Two of four epochs over two sessions: best epoch, sessions and time left from the run's files."""
    import json

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_curve import read_curve, table

    (tmp_path / "config.json").write_text(json.dumps({"name": "m-x", "seed": 3, "epochs": 4}))
    rows = [
        {"epoch": 1, "step": 100, "loss/scale": 1.0, "val_dice": 0.2, "val_scale_accuracy": 0.5,
         "train_seconds": 600.0},
        {"epoch": 2, "step": 200, "loss/scale": 0.5, "val_dice": 0.1, "val_scale_accuracy": 0.6,
         "train_seconds": 1200.0},
    ]
    (tmp_path / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    start = "INFO precision: {'device': 'cpu', 'dtype': 'bf16'}"
    (tmp_path / "train.log").write_text(
        f"2026-12-03 10:00:00,000 {start}\n2026-12-03 10:10:00,000 INFO epoch 1: {{}}\n"
        f"2026-12-04 09:00:00,000 {start}\n"
    )
    curve = read_curve(tmp_path)
    assert (curve["epochs_done"], curve["best_epoch_so_far"], curve["finished"]) == (2, 1, False)
    assert [s["started"] for s in curve["sessions"]] == ["2026-12-03 10:00:00,000", "2026-12-04 09:00:00,000"]
    assert curve["train_seconds"] == 1800.0
    assert curve["estimated_hours_left"] == pytest.approx(900.0 * 2 / 3600)
    assert "2 of 4 epochs, 0.50 h of training in 2 session(s), about 0.5 h left" in table(curve)
    curve["train_tflop"] = 812.4
    assert "2 of 4 epochs, 0.50 h of training (812 TFLOP) in 2 session(s)" in table(curve)
    assert "val_dice_negated" not in table(curve)
    for row, negated in zip(curve["epochs"], (0.4, 0.3), strict=True):  # a tune_polarity run
        row["val_dice_negated"] = negated
    assert "| epoch | step | loss/scale | val_dice | val_dice_negated | val_scale_accuracy |" in table(curve)
    assert "| 1 | 100 | 1.000 | 0.200 | 0.400 | 0.500 | 600.000 |" in table(curve)


def test_ssl_curve_names_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_curve import read_curve

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SystemExit, match="no history.jsonl"):
        read_curve(tmp_path)


@pytest.mark.parametrize("path", sorted((BENCHMARKS / "ssl").glob("*.yaml")), ids=lambda p: p.stem)
def test_ssl_configs_resolve(path):
    """Every component of every training YAML exists and takes the parameters it is given (after include)."""
    from nucbench.config import ExperimentConfig, load_config
    from nucbench.plugins import get_plugin_manager

    config = load_config(path, ExperimentConfig)
    registries = get_plugin_manager().registries
    specs = [("pretext-task", config.pretext_task), ("attention-backbone", config.backbone),
             ("post-processor", config.post_processor), ("dataset", config.train_data),
             ("dataset", config.val_data)]
    specs += [("regularizer", spec) for spec in config.regularizers]
    for kind, spec in specs:
        registries[kind].validate_params(spec.name, spec.params)
    if path.stem != "base":
        assert config.name == path.stem


def test_ssl_ablations_average_one_run_per_seed(monkeypatch, tmp_path):
    """Rows for every scored curve; the summary: one run per seed (the chosen CPU's), over the seeds asked."""
    import json

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_ablations import collect, config_of, summarise

    def curve(run, seed, cpu, val, aji, scored=True):
        data = {"run": run, "seed": seed, "epochs_done": 1, "best_val_dice_so_far": val,
                "train_seconds": 3600.0, "machine": {"cpu_model": cpu},
                "epochs": [{"epoch": 1, "val_dice": val, "val_attended_fraction": 0.07}]}
        if scored:
            data["best_so_far_scored"] = {"epoch": 1, "test": {"aji": aji, "pq": aji / 2}}
        return data

    curves = [curve("m-a", 0, "epyc", 0.4, 0.30), curve("m-a", 0, "xeon", 0.5, 0.50),
              curve("m-a-s1", 1, "epyc", 0.2, 0.10), curve("m-a-s5", 5, "epyc", 0.9, 0.90),
              curve("m-b", 0, "epyc", 0.1, 0.05), curve("m-b-s1", 1, "epyc", 0.3, 0.0, scored=False),
              curve("m-other", 0, "epyc", 0.9, 0.9)]
    for i, data in enumerate(curves):
        (tmp_path / f"{i}.json").write_text(json.dumps(data))
    assert (config_of("m-a-s12"), config_of("m-a"), config_of("m-s1-x")) == ("m-a", "m-a", "m-s1-x")
    rows = collect(["m-a", "m-b"], tmp_path)
    assert [(r["config"], r["seed"], r["cpu"]) for r in rows] == [
        ("m-a", 0, "epyc"), ("m-a", 0, "xeon"), ("m-a", 1, "epyc"), ("m-a", 5, "epyc"), ("m-b", 0, "epyc")]
    summary = summarise(rows, ["m-a", "m-b"], [0, 1, 2], "epyc")
    a, b = summary
    assert a["seeds"] == [0, 1]  # seed 5 left out; seed 0 from the epyc run (0.30, not the xeon's 0.50)
    assert a["test_aji"]["mean"] == pytest.approx(0.20)
    assert a["test_aji"]["std"] == pytest.approx(0.1414214, rel=1e-5)  # sample std of 0.30, 0.10
    assert a["seeds_aji_at_least_0.30"] == 1
    assert (b["seeds"], b["test_aji"]["std"]) == ([0], 0.0)
    assert summarise(rows, ["m-a"], [0], "xeon")[0]["test_aji"]["mean"] == pytest.approx(0.50)


def test_ssl_ablations_name_a_cpu_with_the_precision_it_trained_in(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_ablations import machine_label

    def session(dtype):
        return {"started": "2026-12-07 01:42:37,070",
                "precision": f"{{'device': 'cpu', 'dtype': '{dtype}', 'channels_last': True, 'reason': 'x'}}"}

    machine = {"cpu_model": "Xeon"}
    assert machine_label({"machine": machine, "sessions": [session("fp32")]}) == "Xeon, fp32"
    resumed = [session("bf16"), session("bf16"), session("fp32")]  # resumed on another CPU
    assert machine_label({"machine": machine, "sessions": resumed}) == "Xeon, bf16+fp32"
    assert machine_label({"machine": machine}) == "Xeon"  # no train.log lines
    parsed = {"started": "x", "precision": {"device": "cpu", "dtype": "bf16", "channels_last": True}}
    assert machine_label({"machine": machine, "sessions": [parsed, session("fp32")]}) == "Xeon, bf16+fp32"


def test_ssl_curve_stores_the_logged_precision_as_a_dict(monkeypatch, tmp_path):
    import json

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_curve import read_curve

    (tmp_path / "config.json").write_text(json.dumps({"name": "m", "seed": 3, "epochs": 2}))
    epoch = {"epoch": 1, "val_dice": 0.2, "train_seconds": 9.0}
    (tmp_path / "history.jsonl").write_text(json.dumps(epoch) + "\n")
    (tmp_path / "train.log").write_text(
        "2026-12-07 04:10:46,911 INFO precision: {'device': 'cpu', 'dtype': 'fp32', 'channels_last': True}\n"
        "2026-12-07 05:00:00,000 INFO resumed from x after epoch 1\n"
        "2026-12-07 05:00:01,000 INFO precision: not a dict\n"
    )
    sessions = read_curve(tmp_path)["sessions"]
    fp32 = {"device": "cpu", "dtype": "fp32", "channels_last": True}
    assert sessions == [
        {"started": "2026-12-07 04:10:46,911", "precision": fp32},
        {"started": "2026-12-07 05:00:01,000", "precision": "not a dict"},
    ]


def test_time_interleaved_warms_up_each_call_then_runs_them_in_rounds(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from bench_record import time_interleaved

    order = []
    times = time_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, repeats=3)
    assert order == ["a", "b"] + ["a", "b"] * 3  # warm-ups first, not timed; then interleaved rounds
    assert {name: len(t["wall"]) for name, t in times.items()} == {"a": 3, "b": 3}
    assert all(s >= 0 for t in times.values() for s in t["wall"] + t["cpu"])


def tiny_faithful():
    """m-faithful-code with a 4-channel F and a small G: the same plugins, cheap to build."""
    from nucbench.config import ExperimentConfig, load_config

    plain = load_config(BENCHMARKS / "ssl" / "m-faithful-code.yaml", ExperimentConfig)
    spec = type(plain.backbone)
    return plain.model_copy(update={
        "backbone": spec(name="dilated-resnet", params={"width": 4, "dilations": [1]}),
        "pretext_task": spec(name="scale-classification", params={"classifier": "resnet10t"}),
    })


def test_ssl_polarity_pairs_plain_and_oriented_runs_and_reuses_unflipped_seeds(monkeypatch, tmp_path):
    """A seed the probe leaves alone takes its plain run for both sides; a flipped seed needs its own."""
    import json

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_polarity import outcomes, probe_contrast, untrained_backbone


    plain = tiny_faithful()
    spec = type(plain.backbone)
    oriented = plain.model_copy(update={
        "name": "m-faithful-code-oriented",
        "backbone": spec(name="dilated-resnet", params={**plain.backbone.params, "polarity": "hematoxylin"}),
    })
    says = {s: probe_contrast(untrained_backbone(plain, s)) >= 0 for s in range(8)}
    towards, away = next(s for s in says if says[s]), next(s for s in says if not says[s])

    def curve(run, seed, aji):
        return {"run": run, "seed": seed, "epochs_done": 1, "best_val_dice_so_far": 0.3, "train_seconds": 1.0,
                "machine": {"cpu_model": "xeon"},
                "epochs": [{"epoch": 1, "val_dice": 0.3, "val_attended_fraction": 0.07}],
                "best_so_far_scored": {"epoch": 1, "test": {"aji": aji, "pq": 0.1}}}

    curves = [curve("m-faithful-code", towards, 0.31), curve(f"m-faithful-code-s{away}", away, 0.02),
              curve(f"m-faithful-code-oriented-s{away}", away, 0.29)]
    for i, data in enumerate(curves):
        (tmp_path / f"{i}.json").write_text(json.dumps(data))
    rows = [{"seed": towards, "probe_says": "nuclei"}, {"seed": away, "probe_says": "away"}]
    paired = {p["seed"]: p for p in outcomes(plain, oriented, rows, "xeon", tmp_path)}
    assert paired[towards]["oriented_is_plain"] and paired[towards]["oriented"]["test"]["aji"] == 0.31
    assert not paired[away]["oriented_is_plain"]
    assert (paired[away]["plain"]["test"]["aji"], paired[away]["oriented"]["test"]["aji"]) == (0.02, 0.29)


def test_ssl_untrained_parts_start_another_seeds_run(monkeypatch, tmp_path):
    """F of one seed and G of another, saved untrained, are exactly what a third seed's run starts from."""
    import torch

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_untrained import untrained_state

    from nucbench.train import build_model

    tiny = tiny_faithful()
    spec = type(tiny.backbone)
    f0, g1 = untrained_state(tiny, 0, "f"), untrained_state(tiny, 1, "g")
    assert not torch.equal(f0["head.weight"], untrained_state(tiny, 1, "f")["head.weight"])
    torch.save(f0, tmp_path / "f0.pt")
    torch.save(g1, tmp_path / "g1.pt")
    mixed = tiny.model_copy(update={
        "seed": 2,
        "backbone": spec(name="dilated-resnet",
                         params={**tiny.backbone.params, "pretrained_path": str(tmp_path / "f0.pt")}),
        "pretext_task": spec(name="scale-classification",
                             params={"classifier": "resnet10t", "pretrained_path": str(tmp_path / "g1.pt")}),
    })
    _, f, _, g, _ = build_model(mixed)
    assert all(torch.equal(v, f.state_dict()[k]) for k, v in f0.items())
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in g1.items())


UNTRAINED = "runs/untrained/m-faithful-code-{}.pt"


@pytest.mark.parametrize(("name", "seed", "f", "g"), [
    ("m-faithful-code-f0s1", 1, "f-seed0", None),
    ("m-faithful-code-g1s0", 0, None, "g-seed1"),
    ("m-faithful-code-fg0s1", 1, "f-seed0", "g-seed0"),
])
def test_the_seed_part_configs_differ_from_the_faithful_run_only_in_seed_and_start(name, seed, f, g):
    from nucbench.config import ExperimentConfig, load_config

    plain = load_config(BENCHMARKS / "ssl" / "m-faithful-code.yaml", ExperimentConfig)
    mixed = load_config(BENCHMARKS / "ssl" / f"{name}.yaml", ExperimentConfig)
    assert (mixed.name, mixed.seed) == (name, seed)
    parts = ((mixed.backbone, plain.backbone, f), (mixed.pretext_task, plain.pretext_task, g))
    for spec, base, start in parts:
        params = dict(spec.params)
        assert params.pop("pretrained_path", None) == (start and UNTRAINED.format(start))
        assert params == base.params
    assert mixed.regularizers == plain.regularizers and mixed.epochs == plain.epochs


def test_ssl_seed_parts_reads_where_each_part_of_a_run_came_from(monkeypatch, tmp_path):
    import json

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_seed_parts import row, start_seed

    assert start_seed({}, 3) == 3
    assert start_seed({"pretrained_path": "runs/untrained/m-faithful-code-g-seed1.pt"}, 0) == 1
    with pytest.raises(ValueError, match="weights.pt: no seed in its name"):
        start_seed({"pretrained_path": "weights.pt"}, 0)
    curve = {"run": "m-faithful-code-g1s0", "seed": 0, "machine": {"cpu_model": "xeon"},
             "epochs": [{"val_dice": 0.1, "train_seconds": 600.0}],
             "best_so_far_scored": {"test": {"aji": 0.05, "pq": 0.01}}}
    (tmp_path / "c.json").write_text(json.dumps(curve))
    monkeypatch.setattr("ssl_seed_parts.REPO", tmp_path)
    diagnosis = {"mean": {"dice_top7": 0.06, "dice_bottom7_inverted": 0.25}}
    got = row("m-faithful-code-g1s0.yaml", tmp_path / "c.json", diagnosis)
    assert (got["f_seed"], got["g_seed"], got["crop_seed"], got["attends"]) == (0, 1, 0, "inverted")
    curve["run"] = "m-faithful-code-f0s1"
    (tmp_path / "c.json").write_text(json.dumps(curve))
    with pytest.raises(ValueError, match="is not m-faithful-code-g1s0.yaml"):
        row("m-faithful-code-g1s0.yaml", tmp_path / "c.json", None)


def test_ssl_sign_tuning_reads_the_trained_fs_own_sign_and_tables_both(monkeypatch, tmp_path, shipped_member):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_sign_tuning import probe_reading, table

    from nucbench.train import atomic_save

    state = shipped_member()
    negated = {k: -v if k.startswith("head.") else v for k, v in state["state_dict"].items()}
    plain = probe_reading(atomic_save(state, tmp_path / "plain.pt"))
    # the stored sign is what tuning chose; the probe reads F itself
    flipped = probe_reading(atomic_save({**state, "state_dict": negated, "confidence_sign": -1},
                                        tmp_path / "flipped.pt"))
    assert plain > 0.5 and flipped == pytest.approx(-plain)

    scored = lambda sign, val, test: {"post_processor": {"confidence_sign": sign, "val_aji": val},  # noqa: E731
                                      "test": {"aji": test, "pq": test / 4}}
    row = {"run": "m-faithful-code-s1", "seed": 1, "best_epoch": 1, "val_dice": 0.064, "probe_contrast": -1.5,
           "trained_sign": scored(1, 0.02, 0.0285), "tuned_sign": scored(-1, 0.11, 0.1234),
           "sessions": [{"precision": {"dtype": "fp32"}}], "machine": {"cpu_model": "xeon"}}
    lines = table([row]).splitlines()
    assert lines[2] == ("| `m-faithful-code-s1` | 1 | 1 | 0.064 | -1.50 | -1 | 0.0200 / 0.1100 "
                        "| 0.0285 / 0.1234 | 0.0071 / 0.0308 | xeon, fp32 |")


def small_config(name: str, regularizers: list) -> dict:
    """A training configuration whose compute is counted in a blink: width-4 F, resnet10t G, 32² crops."""
    return {"name": name, "batch_size": 6, "crop_size": 32, "regularizers": regularizers,
            "pretext_task": {"name": "scale-classification", "params": {"classifier": "resnet10t"}},
            "backbone": {"name": "dilated-lite", "params": {"width": 4, "dilations": [1, 2]}}}

def test_forward_gmacs_counts_a_convolution_by_hand(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import torch
    from ssl_reproduce import forward_gmacs

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Conv2d(4, 4, 1, groups=2))
    # 8×8 outputs: 4 channels × 9 taps × 3 inputs, then 4 channels × 1 tap × 2 inputs per group
    assert forward_gmacs(net, 8) * 1e9 == pytest.approx(64 * 4 * 9 * 3 + 64 * 4 * 2)


def test_step_tflop_counts_a_pass_without_gradient_as_a_forward_only(monkeypatch):
    """The faithful-code configurations' extra passes of F carry no gradient: 1×, not 3×, a forward."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_reproduce import forward_gmacs, step_tflop

    from nucbench.config import ExperimentConfig
    from nucbench.plugins import get_plugin_manager

    def tflop(*regularizers):
        return step_tflop(ExperimentConfig.model_validate(small_config("x", list(regularizers))))

    backbone = get_plugin_manager().create("attention-backbone", "dilated-lite", width=4, dilations=[1, 2])
    f32, f16 = (2 * 6 * forward_gmacs(backbone, size) / 1e3 for size in (32, 16))
    plain = tflop("sparsity", "smoothness")
    equivariance = {"name": "equivariance", "params": {"fraction": 0.5}}
    assert tflop(equivariance) - plain == pytest.approx(3 * 0.5 * f32)
    equivariance["params"]["stop_gradient"] = True
    assert tflop(equivariance) - plain == pytest.approx(0.5 * f32)
    # two of the three classes downsampled ×2, without gradient (the default)
    assert tflop("scale-equivariance") - plain == pytest.approx(2 / 3 * f16)
    assert tflop({"name": "equivariance", "params": {"weight": 0}}) == pytest.approx(plain)


def test_training_tflop_counts_the_passes_a_regularizer_declares(monkeypatch):
    """A regularizer the benchmark has never heard of is counted from its ``backbone_passes``."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import torch
    from ssl_reproduce import forward_gmacs, training_tflop

    from nucbench import BackbonePass

    class Declared:
        weight = 1.0

        def backbone_passes(self, n_classes):
            return (BackbonePass(share=1 / n_classes, scale=0.5), BackbonePass(share=0.25, gradient=False))

    class Silent:
        weight = 1.0

    backbone = torch.nn.Conv2d(3, 1, 3, padding=1)
    head = torch.nn.Conv2d(3, 2, 1)
    plain = training_tflop(backbone, head, [Silent()], n_classes=4, batch_size=6, crop_size=16)
    counted = training_tflop(backbone, head, [Declared()], n_classes=4, batch_size=6, crop_size=16)
    f16, f8 = forward_gmacs(backbone, 16), forward_gmacs(backbone, 8)
    assert plain == pytest.approx(2 * 6 * 3 * (f16 + forward_gmacs(head, 16)) / 1e3)
    assert counted - plain == pytest.approx(2 * 6 * (3 * f8 / 4 + 0.25 * f16) / 1e3)


def test_ssl_ablations_count_compute_from_the_configuration_not_the_curve(monkeypatch, tmp_path):
    """A curve's stored TFLOP is stale once the count is corrected; the table counts it from the YAML."""
    import json

    import yaml

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_ablations import collect
    from ssl_reproduce import step_tflop

    from nucbench.config import ExperimentConfig

    config = small_config("m-a", ["sparsity", {"name": "equivariance", "params": {"stop_gradient": True}}])
    (tmp_path / "m-a.yaml").write_text(yaml.safe_dump(config))
    curves = tmp_path / "curves"
    curves.mkdir()
    for run in ("m-a-s1", "m-gone"):
        (curves / f"{run}.json").write_text(json.dumps({
            "run": run, "seed": 1, "epochs_done": 2, "best_val_dice_so_far": 0.2,
            "train_seconds": 60.0, "machine": {"cpu_model": "xeon"}, "train_tflop": 999.0,
            "epochs": [{"epoch": 1, "step": 100, "val_dice": 0.1},
                       {"epoch": 2, "step": 200, "val_dice": 0.2}],
            "best_so_far_scored": {"epoch": 2, "test": {"aji": 0.1, "pq": 0.05}}}))
    a, gone = collect(["m-a", "m-gone"], curves, configs_dir=tmp_path)
    assert a["train_tflop"] == pytest.approx(200 * step_tflop(ExperimentConfig.model_validate(config)))
    assert a["train_tflop"] != pytest.approx(999.0)
    assert gone["train_tflop"] == 999.0  # no YAML left to count from


def test_ssl_reproduce_seed_table_puts_each_seed_in_its_column(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_reproduce import seed_table

    def run(name, seed, aji, epoch, sign):
        test = {"aji": aji}
        return {"name": name, "seed": seed, "test": test, "best_epoch": epoch, "confidence_sign": sign}

    lines = seed_table([run("m-a", 0, 0.31, 2, 1), run("m-b", 2, 0.05, 1, -1), run("m-a", 1, 0.1, 1, -1)])
    lines = lines.splitlines()
    assert lines[0].count("seed ") == 3
    assert lines[2] == "| m-a | 0.3100 (2, +1) | 0.1000 (1, -1) | – |"
    assert lines[3] == "| m-b | – | – | 0.0500 (1, -1) |"
    assert len(lines) == 4  # every sign recorded: no footnote


def test_ssl_reproduce_tables_name_the_cpu_each_seed_ran_on(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssl_reproduce import cpu_tag, seed_table, table

    xeon = {"cpu_model": "Intel(R) Xeon(R) Processor", "amx_tile": True}
    epyc = {"cpu_model": "AMD EPYC", "amx_tile": False}
    assert cpu_tag(xeon) == "Xeon AMX"
    assert cpu_tag(epyc) == "AMD EPYC"
    assert cpu_tag(None) == "" and cpu_tag({"amx_tile": True}) == ""
    test = {"aji": 0.2, "ahd": 20.0, "adc": 0.3, "pq": 0.1}

    def run(seed, machine):
        return {"name": "m-a", "seed": seed, "steps": 200, "train_tflop": 1.0, "val_dice": 0.1, "test": test,
                "train_wall_seconds": 3600.0, "best_epoch": 1, "confidence_sign": -1, "machine": machine}

    runs = [run(0, xeon), run(1, epyc), run(2, epyc), run(3, None)]
    assert seed_table(runs).splitlines()[2] == (
        "| m-a | 0.2000 (1, -1, Xeon AMX) | 0.2000 (1, -1, AMD EPYC) | 0.2000 (1, -1, AMD EPYC) "
        "| 0.2000 (1, -1) |"
    )
    assert table(runs).splitlines()[2].endswith("| Xeon AMX ×1, AMD EPYC ×2, unknown ×1 |")


def test_ssl_reproduce_seed_table_does_not_invent_an_unrecorded_sign(monkeypatch, tmp_path):
    import yaml

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import ssl_reproduce
    from ssl_reproduce import seed_table

    monkeypatch.setattr(ssl_reproduce, "REPO", tmp_path)
    (tmp_path / "fixed.yaml").write_text(yaml.safe_dump(small_config("fixed", ["sparsity"])))
    (tmp_path / "tuned.yaml").write_text(yaml.safe_dump({**small_config("tuned", ["sparsity"]),
                                                         "tune_polarity": True}))

    def old(name, seed):  # recorded before confidence_sign was stored
        return {"config": f"{name}.yaml", "name": name, "seed": seed, "test": {"aji": 0.1082},
                "best_epoch": 1}

    lines = seed_table([old("tuned", 1), old("fixed", 1)]).splitlines()
    assert lines[2] == "| tuned | 0.1082 (1, ?) |"  # chosen on validation: the record cannot tell
    assert lines[3] == "| fixed | 0.1082 (1, +1) |"  # no sign tuning: +1 by construction
    assert "predates `confidence_sign`" in lines[-1]


def test_ssl_reproduce_tables_the_dice_at_the_sign_used_and_recounts_compute(monkeypatch, tmp_path):
    import yaml

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import ssl_reproduce
    from ssl_reproduce import refresh_compute, step_tflop, table

    from nucbench.config import ExperimentConfig

    config = small_config("m-a", ["sparsity", "scale-equivariance"])
    (tmp_path / "m-a.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setattr(ssl_reproduce, "REPO", tmp_path)
    test = {"aji": 0.2, "ahd": 20.0, "adc": 0.3, "pq": 0.1}

    def run(seed, **extra):
        return {"config": "m-a.yaml", "name": "m-a", "seed": seed, "steps": 200, "train_tflop": 999.0,
                "val_dice": 0.1, "test": test, "train_wall_seconds": 3600.0, **extra}

    runs = [refresh_compute(run(0, val_dice_at_sign=0.3)), run(1)]  # seed 1: recorded before the field
    assert runs[0]["train_tflop"] == pytest.approx(200 * step_tflop(ExperimentConfig.model_validate(config)))
    assert refresh_compute({**run(2), "config": "gone.yaml"})["train_tflop"] == 999.0
    row = table(runs).splitlines()[2].split(" | ")
    assert row[2] == "0.200 ± 0.141"  # 0.3 at the sign used, 0.1 at the trained sign
