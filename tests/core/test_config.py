from __future__ import annotations

import pytest

from nucbench.config import ComponentSpec, ExperimentConfig, SuiteConfig, load_config
from nucbench.errors import ConfigError, InputError

SUITE = """
name: tiny
datasets: [monuseg]
methods:
  - segmenter: {name: otsu, params: {sigma: 1.0}}
metrics: [aji, {name: pq}]
"""


def test_component_accepts_bare_string():
    assert ComponentSpec.model_validate("aji") == ComponentSpec(name="aji", params={})


def test_suite_loads(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    suite = load_config(path, SuiteConfig)
    assert suite.methods[0].segmenter.params == {"sigma": 1.0}
    assert [m.name for m in suite.metrics] == ["aji", "pq"]
    assert suite.seeds == [0]


def test_misspelt_key_names_file_path_and_allowed_keys(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.replace("segmenter: {name: otsu,", "segmenter: {nmae: otsu, name: otsu,"))
    with pytest.raises(ConfigError) as info:
        load_config(path, SuiteConfig)
    msg = str(info.value)
    assert f"{path}: methods[0].segmenter.nmae: unknown key 'nmae'. Did you mean 'name'?" in msg
    assert "Allowed keys: name, params." in msg


def test_misspelt_top_level_key(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("epochz: 3\n")
    with pytest.raises(ConfigError, match=r"epochz: unknown key 'epochz'\. Did you mean 'epochs'\?"):
        load_config(path, ExperimentConfig)


def test_wrong_type_is_reported_with_value(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("epochs: many\n")
    with pytest.raises(ConfigError, match=r"epochs: .*got 'many'"):
        load_config(path, ExperimentConfig)


def test_include_overrides_base(tmp_path):
    (tmp_path / "base.yaml").write_text(SUITE)
    child = tmp_path / "child.yaml"
    child.write_text("include: base.yaml\nname: child\nseeds: [1, 2]\n")
    suite = load_config(child, SuiteConfig)
    assert suite.name == "child" and suite.seeds == [1, 2]
    assert suite.methods[0].segmenter.name == "otsu"


def test_include_cycle_is_an_error(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("include: a.yaml\n")
    with pytest.raises(InputError, match="includes itself"):
        load_config(a, SuiteConfig)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_config(tmp_path / "nope.yaml", SuiteConfig)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_config(bad, SuiteConfig)


def test_include_merges_mappings_key_by_key_and_replaces_lists(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "name: base\npretext_task: {name: scale-classification}\ntrain_data: {name: monuseg}\n"
        "backbone: {name: dilated-resnet, params: {width: 64, dilations: [1, 2]}}\n"
        "regularizers: [{name: sparsity}, {name: smoothness}]\n"
    )
    child = tmp_path / "child.yaml"
    child.write_text(
        "include: base.yaml\nbackbone: {params: {width: 16}}\nregularizers: [{name: smoothness}]\n"
    )
    config = load_config(child, ExperimentConfig)
    assert config.backbone.name == "dilated-resnet"
    assert config.backbone.params == {"width": 16, "dilations": [1, 2]}
    assert [r.name for r in config.regularizers] == ["smoothness"]  # the ablation drops sparsity
