"""Plugins load from the `sscl` entry-point group, each guarded; failures are recorded, not fatal."""

import json
from importlib.metadata import entry_points

import pytest

from sscl_core import SsclError, cli
from sscl_core.plugins.registry import load_registry

METHOD_MODULE = """
import torch.nn.functional as F
from sscl_core import Method, component, hookimpl

@component
class {cls}(Method):
    \"\"\"A test method.\"\"\"
    name = "{method}"
    def forward_train(self, batch, ctx):
        return {{"ce": F.cross_entropy(ctx.model(batch.x), batch.y)}}

@hookimpl
def register_methods(register):
    register({cls})
"""


def only(monkeypatch, *dists):
    monkeypatch.setenv("SSCL_LOAD_PLUGINS", ",".join(dists))


def test_good_plugin_registers_its_method(make_distribution, monkeypatch):
    make_distribution("good-plugin", "good_plugin", METHOD_MODULE.format(cls="Good", method="good"))
    only(monkeypatch, "good-plugin")
    registry = load_registry()
    assert registry.names("method") == ["good"]
    assert registry.distribution_of("method", "good") == "good-plugin"


def test_broken_plugin_is_recorded_and_others_work(make_distribution, monkeypatch):
    make_distribution("good-plugin", "good_plugin2", METHOD_MODULE.format(cls="Good", method="good"))
    make_distribution("broken-plugin", "broken_plugin", "raise ImportError('needs libfoo')\n")
    only(monkeypatch, "good-plugin", "broken-plugin")
    registry = load_registry()
    assert registry.names("method") == ["good"]
    broken = [p for p in registry.plugins if p.distribution == "broken-plugin"]
    assert broken and "ImportError: needs libfoo" in broken[0].error
    with pytest.raises(SsclError, match="broken-plugin failed to load .*needs libfoo"):
        registry.get("method", "fancy")


def test_duplicate_names_name_both_distributions(make_distribution, monkeypatch):
    make_distribution("first-plugin", "first_plugin", METHOD_MODULE.format(cls="A", method="same"))
    make_distribution("second-plugin", "second_plugin", METHOD_MODULE.format(cls="B", method="same"))
    only(monkeypatch, "first-plugin", "second-plugin")
    with pytest.raises(SsclError, match="method 'same' is registered by both first-plugin and second-plugin"):
        load_registry()


def test_load_plugins_variable_limits_loading(make_distribution, monkeypatch):
    make_distribution("good-plugin", "good_plugin3", METHOD_MODULE.format(cls="Good", method="good"))
    only(monkeypatch)
    assert load_registry().plugins == []
    monkeypatch.setenv("SSCL_LOAD_PLUGINS", "Good_Plugin")
    assert [p.distribution for p in load_registry().plugins] == ["good-plugin"]


def test_module_level_lifecycle_hook_is_refused(make_distribution, monkeypatch):
    make_distribution(
        "sneaky-plugin",
        "sneaky_plugin",
        "from sscl_core import hookimpl\n\n@hookimpl\ndef before_task(ctx, task):\n    pass\n",
    )
    only(monkeypatch, "sneaky-plugin")
    (info,) = load_registry().plugins
    assert "before_task" in info.error and "register_* hooks" in info.error


def test_core_requirement_is_checked(make_distribution, monkeypatch):
    make_distribution(
        "future-plugin",
        "future_plugin",
        METHOD_MODULE.format(cls="F", method="future"),
        requires=["sscl-core>=99"],
    )
    only(monkeypatch, "future-plugin")
    registry = load_registry()
    assert registry.names("method") == []
    assert "needs sscl-core>=99" in registry.plugins[0].error


def test_plugins_json_lists_versions_components_hooks_and_errors(make_distribution, monkeypatch, capsys):
    make_distribution("good-plugin", "good_plugin4", METHOD_MODULE.format(cls="Good", method="good"))
    make_distribution("broken-plugin", "broken_plugin2", "import not_a_module_anywhere\n")
    only(monkeypatch, "good-plugin", "broken-plugin")
    assert cli.main(["plugins", "--json"]) == 0
    rows = {row["distribution"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["good-plugin"]["version"] == "1.2.3"
    assert rows["good-plugin"]["components"] == {"method": ["good"]}
    assert rows["good-plugin"]["hooks"] == ["register_methods"]
    assert rows["good-plugin"]["error"] is None
    assert "ModuleNotFoundError" in rows["broken-plugin"]["error"]


def test_run_selecting_a_broken_plugins_component_fails_in_one_line(make_distribution, monkeypatch, capsys):
    make_distribution("broken-plugin", "broken_plugin3", "raise RuntimeError('bad build')\n")
    only(monkeypatch, "broken-plugin")
    assert cli.main(["run", "--method", "fancy"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "broken-plugin failed to load (RuntimeError: bad build)" in err


def test_load_plugins_naming_distributions_that_are_not_installed_is_one_line(make_distribution, monkeypatch, sscl):
    make_distribution("good-plugin", "good_plugin", METHOD_MODULE.format(cls="Good", method="good"))
    installed = sorted({ep.dist.name for ep in entry_points(group="sscl")})
    assert "good-plugin" in installed
    only(monkeypatch, "good-plugin", "no-such-plugin", "sscl-plugin-datasetz")
    code, _out, err = sscl("list", "methods")
    assert code == 2
    assert err == (
        "sscl: error: SSCL_LOAD_PLUGINS names 'no-such-plugin', 'sscl-plugin-datasetz', not an installed plugin "
        f"distribution (installed: {', '.join(installed)}): correct the names or unset it to load all\n"
    )
    only(monkeypatch, "Good_Plugin", "sscl-core")
    assert load_registry().names("method") == ["good"]
