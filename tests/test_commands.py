"""Commands from plugins (``register_commands``), and the bench's commands when its distribution is missing."""

import json
import subprocess
import sys
from importlib.metadata import distribution, entry_points
from pathlib import Path

import pytest

from sscl_core import cli
from sscl_core.plugins.loading import PluginInfo
from sscl_core.plugins.registry import Registry

COMMAND_MODULE = """
from sscl_core import Command, SsclError, hookimpl

def add_arguments(parser):
    parser.add_argument("who")
    parser.add_argument("--code", type=int, default=0)

def run(args, registry):
    if args.who == "nobody":
        raise SsclError("nobody to greet")
    print(f"hello {args.who} from {[p.distribution for p in registry.plugins]}")
    return args.code

@hookimpl
def register_commands(register):
    REGISTER
"""


def command_module(name="hello", register='register(Command("NAME", "say hello", add_arguments, run))'):
    """A plugin module whose hook registers the command ``name`` (or runs the statement ``register``)."""
    return COMMAND_MODULE.replace("REGISTER", register).replace("NAME", name)


def only(monkeypatch, *dists):
    monkeypatch.setenv("SSCL_LOAD_PLUGINS", ",".join(dists))


def one_line_error(code, err):
    return (
        code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("sscl: error: ") and "Traceback" not in err
    )


def test_a_plugin_adds_a_command_that_gets_its_arguments_and_the_loaded_registry(make_distribution, monkeypatch, sscl):
    make_distribution("hello-plugin", "hello_plugin", command_module())
    only(monkeypatch, "hello-plugin")
    assert sscl("hello", "world", "--code", "3") == (3, "hello world from ['hello-plugin']\n", "")
    code, _out, err = sscl("hello")
    assert one_line_error(code, err) and "the following arguments are required: who" in err
    code, _out, err = sscl("hello", "nobody")
    assert one_line_error(code, err) and err == "sscl: error: nobody to greet\n"
    code, out, _err = sscl("plugins", "--json")
    (row,) = json.loads(out)
    assert row["components"] == {"command": ["hello"]} and row["hooks"] == ["register_commands"]
    code, out, _err = sscl("list", "commands", "--json")
    rows = json.loads(out)
    assert [(r["name"], r["distribution"]) for r in rows] == [
        *((name, "sscl-core") for name in ("run", "config", "plugins", "list", "describe")),
        ("hello", "hello-plugin"),
    ]
    assert rows[-1]["summary"] == "say hello"
    code, out, _err = sscl("list", "commands")
    assert code == 0 and out.splitlines()[-1].split() == ["hello", "hello-plugin", "say", "hello"]
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0


def test_two_plugins_registering_one_command_name_both(make_distribution, monkeypatch, sscl):
    make_distribution("first-cmd", "first_cmd", command_module())
    make_distribution("second-cmd", "second_cmd", command_module())
    only(monkeypatch, "first-cmd", "second-cmd")
    code, _out, err = sscl("list", "methods")
    assert one_line_error(code, err) and "command 'hello' is registered by both first-cmd and second-cmd" in err


def test_a_command_named_like_a_built_in_one_names_both(make_distribution, monkeypatch, sscl):
    make_distribution("sneaky-cmd", "sneaky_cmd", command_module(name="run"))
    only(monkeypatch, "sneaky-cmd")
    code, _out, err = sscl("run")
    assert one_line_error(code, err)
    assert "command 'run' is registered by both sscl-core (built in) and sneaky-cmd" in err


@pytest.mark.parametrize(
    ("module", "register", "error"),
    [
        ("raises", "raise RuntimeError('boom')", "register_commands raised RuntimeError: boom"),
        (
            "bad_name",
            'register(Command("Bad Name", "x", add_arguments, run))',
            "register_commands raised ValueError: command name 'Bad Name' must be lower-case",
        ),
        (
            "bad_run",
            'register(Command("hi", "x", add_arguments, "not a function"))',
            "register_commands raised TypeError: a command's run must be a function, got 'not a function'",
        ),
    ],
)
def test_a_plugin_whose_command_registration_raises_is_recorded_and_the_cli_works(
    make_distribution, monkeypatch, sscl, module, register, error
):
    make_distribution("broken-cmd", f"broken_cmd_{module}", command_module(register=register))
    make_distribution("hello-plugin", "hello_plugin2", command_module())
    only(monkeypatch, "broken-cmd", "hello-plugin")
    code, out, _err = sscl("plugins", "--json")
    rows = {row["distribution"]: row for row in json.loads(out)}
    assert code == 0 and error in rows["broken-cmd"]["error"] and rows["broken-cmd"]["components"] == {}
    assert rows["hello-plugin"]["error"] is None
    assert sscl("hello", "you")[0] == 0


def test_a_command_whose_arguments_raise_is_left_out_and_its_plugin_marked_broken(make_distribution, monkeypatch, sscl):
    source = command_module().replace('parser.add_argument("who")', "raise ValueError('no parser for me')")
    make_distribution("argless-cmd", "argless_cmd", source)
    only(monkeypatch, "argless-cmd")
    code, out, _err = sscl("plugins", "--json")
    (row,) = json.loads(out)
    assert row["error"] == "command 'hello' raised ValueError adding its arguments: no parser for me"
    assert row["components"] == {}
    code, _out, err = sscl("hello", "world")
    assert one_line_error(code, err) and "invalid choice: 'hello'" in err


def test_registering_something_that_is_not_a_command_is_one_line(make_distribution, monkeypatch, sscl):
    make_distribution("odd-cmd", "odd_cmd", command_module(register="register(object())"))
    only(monkeypatch, "odd-cmd")
    code, _out, err = sscl("plugins")
    assert one_line_error(code, err) and "odd-cmd: <object object at" in err and "is not a command" in err


BENCH = "sscl-plugin-bench"
WITHOUT_BENCH = """
import contextlib, io, json, sys
sys.path[:] = json.loads(sys.argv[1])
from sscl_core import cli
results = []
for argv in json.loads(sys.argv[2]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""
"""Runs CLI commands in a Python whose import path (given as JSON) decides which distributions are installed."""


def path_without_bench(tmp_path: Path) -> list[str]:
    """This interpreter's import path with sscl-plugin-bench uninstalled: its site folder is replaced by a copy
    (of links) without the bench's files and metadata, and folders that hold its package are left out."""
    site = Path(distribution(BENCH).locate_file(""))
    mirror = tmp_path / "site-without-bench"
    mirror.mkdir()
    for entry in site.iterdir():
        if "sscl_plugin_bench" not in entry.name:
            (mirror / entry.name).symlink_to(entry)
    kept = [p for p in sys.path if Path(p or ".").resolve() != site.resolve()]
    kept = [p for p in kept if not (Path(p or ".") / "sscl_plugin_bench").is_dir()]
    return [*kept, str(mirror)]


def test_without_the_bench_distribution_run_works_and_bench_says_what_to_install(tmp_path):
    tiny = ["--method", "finetune", "--set", "train.iters_per_task=2", "--set", "dataset.num_tasks=2"]
    commands = [["bench", "digits-5"], ["report", "runs"], ["run", *tiny, "--set", "device=cpu"], ["plugins", "--json"]]
    done = subprocess.run(
        [sys.executable, "-S", "-c", WITHOUT_BENCH, json.dumps(path_without_bench(tmp_path)), json.dumps(commands)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    bench, report, run, plugins = json.loads(done.stdout)
    assert bench == [2, "", f"sscl: error: 'sscl bench' comes from the {BENCH} distribution: pip install {BENCH}\n"]
    assert report == [2, "", f"sscl: error: 'sscl report' comes from the {BENCH} distribution: pip install {BENCH}\n"]
    assert run[0] == 0, run[2]
    assert "class-il accuracy" in run[1] and len(list((tmp_path / "runs").iterdir())) == 1
    distributions = [row["distribution"] for row in json.loads(plugins[1])]
    assert BENCH not in distributions and "sscl-plugin-cl" in distributions


def test_bench_left_out_by_load_plugins_says_so(monkeypatch, sscl):
    others = sorted({ep.dist.name for ep in entry_points(group="sscl")} - {BENCH})
    only(monkeypatch, *others)
    code, _out, err = sscl("bench", "digits-5")
    assert code == 2 and err == (
        f"sscl: error: 'sscl bench' comes from the {BENCH} distribution, which SSCL_LOAD_PLUGINS leaves out: "
        "add it there, or unset SSCL_LOAD_PLUGINS\n"
    )


def test_a_bench_that_failed_to_load_is_named_with_its_error():
    registry = Registry(
        plugins=[PluginInfo(BENCH, "0.1.0", "bench", "sscl_plugin_bench.plugin", error="ImportError: x")]
    )
    assert str(cli.missing_command("report", registry)) == (
        f"'sscl report' comes from the {BENCH} distribution, which failed to load (ImportError: x): see 'sscl plugins'"
    )
    assert cli.missing_command("frobnicate", registry) is None
