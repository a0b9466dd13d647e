"""``sscl describe method NAME`` shows each method's fields, defaults and compatible scenarios."""

import pytest

from sscl_core import cli

ALL = "task-il, class-il, domain-il"
CE = "ce_classes (a string, default 'all')"
EXPECTED = {
    "finetune": (ALL, [CE]),
    "er": (ALL, [CE, "replay_batch_size (an integer, default 8)", "replay_weight (a number, default 1.0)"]),
    "der": (ALL, [CE, "replay_batch_size (an integer, default 8)", "alpha (a number, default 0.3)"]),
    "derpp": (ALL, [CE, "alpha (a number, default 0.3)", "beta (a number, default 0.5)"]),
    "si": (ALL, [CE, "c (a number, default 0.5)", "xi (a number, default 1.0)"]),
    "ewc-online": (ALL, [CE, "ewc_lambda (a number, default 100.0)", "gamma (a number, default 1.0)"]),
    "pnn": ("task-il", ["adapter_width (an integer, default 64)"]),
}


@pytest.mark.parametrize("name", EXPECTED)
def test_describe_method(name, capsys):
    assert cli.main(["describe", "method", name]) == 0
    out = capsys.readouterr().out
    scenarios, fields = EXPECTED[name]
    assert f"method '{name}' from sscl-plugin-cl" in out
    assert f"compatibility: {scenarios}\n" in out
    for field in fields:
        assert f"  {field}: " in out, out


def test_describe_pool(capsys):
    assert cli.main(["describe", "memory_pool", "class-balanced"]) == 0
    out = capsys.readouterr().out
    assert "size (an integer, default 200)" in out and "dedup (true or false, default True)" in out
    assert "within one of each other" in out


def test_pnn_on_class_il_stream_is_one_line(capsys):
    assert cli.main(["run", "--method", "pnn", "--set", "dataset.scenario=class-il"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "sscl: error: method 'pnn' supports task-il, but the dataset's scenario is class-il: "
        "set dataset.scenario to one of those or choose another method"
    )
