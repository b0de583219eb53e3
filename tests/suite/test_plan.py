"""Expanding a suite into runs: order, config hashes, defaults, paths, errors."""

from __future__ import annotations

import pytest
import yaml

from nucbench.errors import ConfigError, InputError, NucbenchError
from nucbench.suite import config_hash, load_suite

from .helpers import PLUGIN


def test_expands_methods_then_datasets_then_seeds(write_suite):
    plan = load_suite(write_suite(
        datasets=[{"name": "disks", "label": "a"}, {"name": "disks", "label": "b", "params": {"size": 40}}],
        methods=[{"segmenter": "dark-blobs", "seeds": [7]},
                 {"label": "strict", "segmenter": {"name": "dark-blobs", "params": {"threshold": 20}}}],
    ))
    # 1 method × 2 datasets × its 1 seed + 1 method × 2 datasets × the suite's 2 seeds = 6 runs
    assert [(r.method, r.dataset, r.seed) for r in plan.runs] == [
        ("dark-blobs", "a", 7), ("dark-blobs", "b", 7),
        ("strict", "a", 0), ("strict", "a", 1), ("strict", "b", 0), ("strict", "b", 1),
    ]
    assert len({r.config_hash for r in plan.runs}) == 6
    assert plan.metric_names == ["aji", "dice"]
    assert plan.higher_is_better == {"aji": True, "dice": True}


def test_hash_is_the_documented_canonical_config(write_suite):
    run = load_suite(write_suite()).runs[0]
    # Every default filled in (the segmenter takes the run's seed), the suite's version included.
    expected = {
        "method": {"segmenter": "dark-blobs",
                   "params": {"threshold": 128.0, "seed": 0, "fail_on_count": None}},
        "dataset": {"name": "disks", "params": {"n_images": 3, "size": 32, "broken": None}},
        "seed": 0,
        "metrics": [{"name": "aji", "params": run.config["metrics"][0]["params"]},
                    {"name": "dice", "params": run.config["metrics"][1]["params"]}],
        "suite_version": "1",
    }
    assert run.config == expected
    assert run.config_hash == config_hash(expected)
    assert run.segmenter.params == {"threshold": 128.0, "seed": 0, "fail_on_count": None}


def test_hash_ignores_labels_and_explicit_defaults_but_not_values(write_suite):
    def first_hash(**overrides):
        return load_suite(write_suite(**overrides)).runs[0].config_hash

    base = first_hash()
    assert first_hash(methods=[{"label": "renamed", "segmenter": "dark-blobs"}]) == base
    assert first_hash(methods=[{"segmenter": {"name": "dark-blobs", "params": {"threshold": 128}}}]) == base
    explicit = {"name": "disks", "label": "d", "params": {"n_images": 3, "size": 32}}
    assert first_hash(datasets=[explicit]) == base
    assert first_hash(methods=[{"segmenter": {"name": "dark-blobs", "params": {"threshold": 127}}}]) != base
    assert first_hash(version="2") != base
    assert first_hash(metrics=["aji"]) != base
    assert first_hash(seeds=[5]) != base


def test_paths_are_relative_to_the_suite_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "plugin.py").write_text(PLUGIN.read_text())
    (tmp_path / "data" / "images").mkdir(parents=True)
    suite = {
        "name": "paths",
        "plugins": ["plugin.py"],
        "datasets": [{"name": "folder", "label": "here", "params": {"root": "../data", "masks": ""}},
                     {"name": "folder", "label": "under-env", "params": {"root": "elsewhere"}}],
        "methods": [{"segmenter": "dark-blobs"}],
        "metrics": ["aji"],
    }
    path = tmp_path / "sub" / "suite.yaml"
    path.write_text(yaml.safe_dump(suite))
    plan = load_suite(path)
    here, elsewhere = plan.runs[0], plan.runs[1]
    assert plan.plugins[0].path == str(tmp_path / "sub" / "plugin.py")
    assert here.data.params["root"] == str(tmp_path / "data")
    assert here.config["dataset"]["params"]["root"] == "../data"  # hashed as written
    assert elsewhere.data.params["root"] == "elsewhere"  # not beside the suite: left to NUCBENCH_DATA


def test_checkpoint_is_hashed_by_content(tmp_path):
    plugin = tmp_path / "ckpt_plugin.py"
    plugin.write_text(
        "from nucbench import hookimpl\n"
        "class Weighted:\n"
        "    def __init__(self, checkpoint: str | None = None) -> None:\n"
        "        self.checkpoint = checkpoint\n"
        "    def segment(self, image, *, mpp=None):\n"
        "        return image[..., 0] * 0\n"
        "@hookimpl\n"
        "def nucbench_register(registries):\n"
        "    registries.segmenter.register('weighted', Weighted)\n"
    )
    for name, content in (("a.pt", b"weights"), ("b.pt", b"weights"), ("c.pt", b"other")):
        (tmp_path / name).write_bytes(content)

    def plan_with(checkpoint):
        path = tmp_path / "suite.yaml"
        path.write_text(yaml.safe_dump({
            "name": "ckpt", "plugins": ["ckpt_plugin.py"], "datasets": ["monuseg"], "metrics": ["aji"],
            "methods": [{"segmenter": "weighted", "checkpoint": checkpoint}],
        }))
        return load_suite(path)

    a, b, c = (plan_with(n).runs[0] for n in ("a.pt", "b.pt", "c.pt"))
    assert a.segmenter.params["checkpoint"] == str(tmp_path / "a.pt")
    assert a.config_hash == b.config_hash != c.config_hash
    missing = r"methods\[0\]\.segmenter\.params\.checkpoint: no such file: .*missing\.pt"
    with pytest.raises(InputError, match=missing):
        plan_with("missing.pt")


def test_unknown_names_and_parameters_name_the_file_and_location(write_suite):
    path = write_suite(methods=[{"segmenter": "dark-blob"}])
    with pytest.raises(NucbenchError) as info:
        load_suite(path)
    assert str(info.value).startswith(f"{path}: methods[0].segmenter: unknown segmenter 'dark-blob'.")
    assert "Did you mean 'dark-blobs'?" in str(info.value)

    path = write_suite(methods=[{"segmenter": {"name": "dark-blobs", "params": {"treshold": 3}}}])
    with pytest.raises(ConfigError, match=r"methods\[0\]\.segmenter: segmenter 'dark-blobs': unknown "
                                          r"parameter 'treshold'\. Did you mean 'threshold'\?"):
        load_suite(path)

    with pytest.raises(NucbenchError, match=r"metrics\[1\]: unknown metric 'ajii'"):
        load_suite(write_suite(metrics=["aji", "ajii"]))


def test_duplicate_labels_are_an_error(write_suite):
    path = write_suite(methods=[{"segmenter": "dark-blobs"}, {"segmenter": "dark-blobs"}])
    with pytest.raises(ConfigError, match=r"methods\[1\]: 'dark-blobs' appears twice \(also methods\[0\]\); "
                                          r"give one of them a different label"):
        load_suite(path)


def test_missing_plugin_file_names_it(write_suite, tmp_path):
    path = write_suite(plugins=["nope.py"])
    with pytest.raises(InputError, match=r"suite\.yaml: plugins\[0\]: --plugin .*nope\.py: no such file"):
        load_suite(path)
