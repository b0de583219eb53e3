from __future__ import annotations

import pytest

from nucbench import hookimpl
from nucbench.errors import ConfigError, RegistrationError, UnknownNameError
from nucbench.registry import Registry, normalise_name


def scale(image, factor: float = 2.0, offset: int = 0):
    """Multiply by a factor."""
    return image * factor + offset


class Thing:
    """A configurable thing."""

    def __init__(self, size: int = 3, label: str = "x") -> None:
        self.size = size
        self.label = label


def test_normalise_accepts_underscores_and_case():
    assert normalise_name("AJI_Plus") == "aji-plus"


def test_create_validates_and_coerces_params():
    reg = Registry("thing")
    reg.register("thing", Thing)
    obj = reg.create("thing", size="5")  # pydantic coerces "5" -> 5
    assert obj.size == 5 and obj.label == "x"


def test_none_means_default():
    reg = Registry("thing")
    reg.register("thing", Thing)
    assert reg.create("thing", size=None).size == 3


def test_unknown_param_suggests_closest():
    reg = Registry("thing")
    reg.register("thing", Thing)
    with pytest.raises(ConfigError, match=r"unknown parameter 'sise'\. Did you mean 'size'\?"):
        reg.create("thing", sise=4)


def test_bad_param_type_names_entry_and_param():
    reg = Registry("thing")
    reg.register("thing", Thing)
    with pytest.raises(ConfigError, match=r"thing 'thing': parameter 'size'"):
        reg.create("thing", size="big")


def test_bind_returns_function_with_options_bound():
    reg = Registry("transform")
    reg.register("scale", scale, bind=True)
    fn = reg.create("scale", factor=3)
    assert fn(2) == 6  # 2 * 3 + 0
    assert list(reg.get("scale").parameters()) == ["factor", "offset"]


def test_unknown_name_suggests_closest():
    reg = Registry("metric")
    reg.register("aji", Thing)
    reg.register("pq", Thing)
    with pytest.raises(UnknownNameError, match=r"unknown metric 'ajii'\. Did you mean 'aji'\?"):
        reg.get("ajii")


def test_duplicate_name_names_both_plugins():
    reg = Registry("metric")
    reg.register("aji", Thing, plugin="first")
    with pytest.raises(RegistrationError, match=r"by plugin first and by plugin second"):
        reg.register("aji", scale, plugin="second")


def test_same_builder_twice_is_harmless():
    reg = Registry("metric")
    reg.register("aji", Thing, plugin="first")
    reg.register("aji", Thing, plugin="first")
    assert len(reg) == 1


def test_name_must_be_kebab_case():
    reg = Registry("metric")
    with pytest.raises(RegistrationError, match="kebab-case"):
        reg.register("Bad_Name", Thing)


def test_list_filters_with_wildcards_sorted():
    reg = Registry("metric")
    for name in ("pq", "aji-plus", "aji", "ahd"):
        reg.register(name, Thing)
    assert [e.name for e in reg.list("aji*")] == ["aji", "aji-plus"]
    assert reg.names() == ["ahd", "aji", "aji-plus", "pq"]


def test_description_defaults_to_docstring_summary():
    reg = Registry("thing")
    entry = reg.register("thing", Thing)
    assert entry.description == "A configurable thing."


def test_lazy_builder_needs_description_and_resolves():
    reg = Registry("thing")
    with pytest.raises(RegistrationError, match="needs description"):
        reg.register("lazy", "json.decoder:JSONDecoder")
    reg.register("lazy", "json.decoder:JSONDecoder", description="A JSON decoder.")
    assert type(reg.create("lazy")).__name__ == "JSONDecoder"


def test_lazy_builder_import_error_is_clear():
    reg = Registry("thing")
    reg.register("broken", "no_such_module_xyz:Thing", description="Broken.")
    with pytest.raises(RegistrationError, match="cannot import its builder 'no_such_module_xyz:Thing'"):
        reg.create("broken")


def test_required_metadata_enforced(manager):
    with pytest.raises(RegistrationError, match="must declare higher_is_better"):
        manager.registries.metric.register("m", Thing)


def test_interface_check_names_plugin(manager):
    class NotASegmenter:
        """Lacks segment()."""

    class Plugin:
        @hookimpl
        def nucbench_register(self, registries):
            registries.segmenter.register("bad", NotASegmenter)

    manager.register(Plugin(), name="my-plugin")
    with pytest.raises(RegistrationError, match=r"segmenter 'bad' \(plugin my-plugin\) built NotASegmenter, "
                                                r"which lacks segment\(\)"):
        manager.create("segmenter", "bad")


def test_entries_attributed_to_registering_plugin(manager):
    class Plugin:
        @hookimpl
        def nucbench_register(self, registries):
            registries.metric.register("const", Thing, higher_is_better=True)

    manager.register(Plugin(), name="const-plugin")
    entry = manager.registries.metric.get("const")
    assert entry.plugin == "const-plugin"
    assert entry.metadata["higher_is_better"] is True


def test_hookimpl_with_unknown_argument_fails_registration(manager):
    class Plugin:
        @hookimpl
        def nucbench_register(self, registries, typo_argument):
            pass

    with pytest.raises(RegistrationError, match="plugin bad-args"):
        manager.register(Plugin(), name="bad-args")


def test_misspelt_hook_name_fails_loudly(manager):
    import pluggy

    class Plugin:
        @hookimpl
        def nucbench_regster(self, registries):
            pass

    manager.register(Plugin(), name="typo")
    with pytest.raises(pluggy.PluginValidationError):
        manager.check_pending()


def test_unknown_kind_suggests(manager):
    with pytest.raises(UnknownNameError, match="Did you mean 'regularizer'"):
        manager.registries["regulariser"]
