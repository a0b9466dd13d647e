"""Plugins load from the `sscl` entry-point group, each guarded; failures are recorded, not fatal."""

import importlib
import json
import textwrap
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


def make_distribution(root, dist, module, source, requires=()):
    """Write an installed distribution (dist-info with an `sscl` entry point) and its module under root."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    metadata = f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    (info / "METADATA").write_text(metadata)
    (info / "entry_points.txt").write_text(f"[sscl]\nmain = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder on sys.path for fake plugin distributions; only those load."""
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return tmp_path


def only(monkeypatch, *dists):
    monkeypatch.setenv("SSCL_LOAD_PLUGINS", ",".join(dists))


def test_good_plugin_registers_its_method(site, monkeypatch):
    make_distribution(site, "good-plugin", "good_plugin", METHOD_MODULE.format(cls="Good", method="good"))
    only(monkeypatch, "good-plugin")
    registry = load_registry()
    assert registry.names("method") == ["good"]
    assert registry.distribution_of("method", "good") == "good-plugin"


def test_broken_plugin_is_recorded_and_others_work(site, monkeypatch):
    make_distribution(site, "good-plugin", "good_plugin2", METHOD_MODULE.format(cls="Good", method="good"))
    make_distribution(site, "broken-plugin", "broken_plugin", "raise ImportError('needs libfoo')\n")
    only(monkeypatch, "good-plugin", "broken-plugin")
    registry = load_registry()
    assert registry.names("method") == ["good"]
    broken = [p for p in registry.plugins if p.distribution == "broken-plugin"]
    assert broken and "ImportError: needs libfoo" in broken[0].error
    with pytest.raises(SsclError, match="broken-plugin failed to load .*needs libfoo"):
        registry.get("method", "fancy")


def test_duplicate_names_name_both_distributions(site, monkeypatch):
    make_distribution(site, "first-plugin", "first_plugin", METHOD_MODULE.format(cls="A", method="same"))
    make_distribution(site, "second-plugin", "second_plugin", METHOD_MODULE.format(cls="B", method="same"))
    only(monkeypatch, "first-plugin", "second-plugin")
    with pytest.raises(SsclError, match="method 'same' is registered by both first-plugin and second-plugin"):
        load_registry()


def test_load_plugins_variable_limits_loading(site, monkeypatch):
    make_distribution(site, "good-plugin", "good_plugin3", METHOD_MODULE.format(cls="Good", method="good"))
    only(monkeypatch)
    assert load_registry().plugins == []
    monkeypatch.setenv("SSCL_LOAD_PLUGINS", "Good_Plugin")
    assert [p.distribution for p in load_registry().plugins] == ["good-plugin"]


def test_module_level_lifecycle_hook_is_refused(site, monkeypatch):
    make_distribution(
        site,
        "sneaky-plugin",
        "sneaky_plugin",
        "from sscl_core import hookimpl\n\n@hookimpl\ndef before_task(ctx, task):\n    pass\n",
    )
    only(monkeypatch, "sneaky-plugin")
    (info,) = load_registry().plugins
    assert "before_task" in info.error and "register_* hooks" in info.error


def test_core_requirement_is_checked(site, monkeypatch):
    make_distribution(
        site,
        "future-plugin",
        "future_plugin",
        METHOD_MODULE.format(cls="F", method="future"),
        requires=["sscl-core>=99"],
    )
    only(monkeypatch, "future-plugin")
    registry = load_registry()
    assert registry.names("method") == []
    assert "needs sscl-core>=99" in registry.plugins[0].error


def test_plugins_json_lists_versions_components_hooks_and_errors(site, monkeypatch, capsys):
    make_distribution(site, "good-plugin", "good_plugin4", METHOD_MODULE.format(cls="Good", method="good"))
    make_distribution(site, "broken-plugin", "broken_plugin2", "import not_a_module_anywhere\n")
    only(monkeypatch, "good-plugin", "broken-plugin")
    assert cli.main(["plugins", "--json"]) == 0
    rows = {row["distribution"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["good-plugin"]["version"] == "1.2.3"
    assert rows["good-plugin"]["components"] == {"method": ["good"]}
    assert rows["good-plugin"]["hooks"] == ["register_methods"]
    assert rows["good-plugin"]["error"] is None
    assert "ModuleNotFoundError" in rows["broken-plugin"]["error"]


def test_run_selecting_a_broken_plugins_component_fails_in_one_line(site, monkeypatch, capsys):
    make_distribution(site, "broken-plugin", "broken_plugin3", "raise RuntimeError('bad build')\n")
    only(monkeypatch, "broken-plugin")
    assert cli.main(["run", "--method", "fancy"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "broken-plugin failed to load (RuntimeError: bad build)" in err


def test_load_plugins_naming_distributions_that_are_not_installed_is_one_line(site, monkeypatch, sscl):
    make_distribution(site, "good-plugin", "good_plugin", METHOD_MODULE.format(cls="Good", method="good"))
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
