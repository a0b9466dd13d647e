"""sscl bench and sscl report: protocols, interleaved runs, reuse, determinism, the hand-written loop, plots."""

import json
from pathlib import Path

import pytest
from PIL import Image

from sscl_core import SsclError
from sscl_core.config.run_config import load_config
from sscl_core.plugins.registry import load_registry
from sscl_core.run.checkpoint import read_manifest
from sscl_core.run.resolve import resolve_components
from sscl_core.run.rundir import write_config
from sscl_plugin_bench.handwritten import measure_overhead, train_handwritten
from sscl_plugin_bench.plan import _installed, plan_runs
from sscl_plugin_bench.plots import write_plots
from sscl_plugin_bench.protocol import read_protocol
from sscl_plugin_bench.table import build_rows, load_runs, run_label

TINY = ["--set", "train.iters_per_task=4", "--set", "dataset.test_per_class=10"]


def protocols():
    registry = load_registry()
    return {name: path for name, (path, dist) in registry.presets.items() if dist == "sscl-core"}


def test_the_benchmark_protocols_are_shipped_and_every_method_in_them_is_installed():
    registry = load_registry()
    shipped = protocols()
    assert set(shipped) == {"digits-5", "fmnist-5", "cifar10-5", "cifar100-20", "tinyimagenet-10"}
    for name, path in shipped.items():
        protocol = read_protocol(name, path)
        assert protocol.seeds == (0, 1, 2) and protocol.references == ("finetune", "der+fixmatch")
        labels = [entry.label for entry in protocol.methods]
        for method in ("finetune", "er", "der", "derpp", "si", "ewc-online", "pnn", "der+mixmatch", "edgehml"):
            assert method in labels, (name, method)
        assert [_installed(entry, registry) for entry in protocol.methods] == [None] * len(labels)


def test_a_protocol_is_a_preset_whose_bench_section_runs_ignore():
    config = load_config(protocols()["fmnist-5"])
    assert config.dataset["name"] == "fashion-mnist" and config.train.iters_per_task == 500
    assert config.method == {"name": "finetune"}


@pytest.mark.parametrize(
    ("bench", "message"),
    [
        ("", "has no 'bench' section"),
        ("bench: {methods: [er], extra: 1}", "unknown keys ['extra']"),
        ("bench: {methods: [er], seeds: [-1]}", "seeds: expected a list of seeds"),
        ("bench: {methods: []}", "methods: expected a list of methods"),
        ("bench: {methods: [er, er]}", "labels repeat: ['er']"),
        ("bench: {methods: [{label: x, method: er, preset: y}]}", "give 'method' or 'preset', not both"),
        ("bench: {methods: [{label: 'a b'}]}", "label 'a b' must be"),
        ("bench: {methods: [{label: x, set: [nope]}]}", "'set' must be a list of KEY=VALUE"),
    ],
)
def test_a_malformed_protocol_is_one_clear_error(tmp_path, bench, message):
    path = tmp_path / "p.yaml"
    path.write_text("dataset: digits\n" + bench + "\n")
    with pytest.raises(SsclError, match=None) as error:
        read_protocol("p", path)
    assert message in str(error.value)


def test_runs_are_interleaved_seeds_outer_with_the_handwritten_loop_beside_finetune(tmp_path):
    path = protocols()["digits-5"]
    protocol = read_protocol("digits-5", path)
    entries = protocol.select(["finetune", "edgehml-no-disk-tier", "lwf-like"])
    registry = load_registry()
    assert _installed(entries[2], registry) == "method 'lwf-like' is not installed"
    planned, skipped = plan_runs(protocol, entries, (0, 1), ["train.iters_per_task=4"], tmp_path, registry)
    assert skipped == ["lwf-like: method 'lwf-like' is not installed"]
    assert [(r.label, r.seed) for r in planned] == [
        ("finetune", 0),
        ("handwritten-finetune", 0),
        ("edgehml-no-disk-tier", 0),
        ("finetune", 1),
        ("handwritten-finetune", 1),
        ("edgehml-no-disk-tier", 1),
    ]
    ablation = planned[2].command
    assert "edgehml-digits-5" in ablation and "memory_pool.disk_size=0" in ablation and "seed=0" in ablation
    assert all(r.mode == "start" for r in planned)


def accuracies(out: Path) -> dict:
    rows = json.loads((out / "results.json").read_text())["rows"]
    return {row["label"]: (row["task-IL MAA"], row["class-IL MAA"]) for row in rows if "task-IL MAA" in row}


def test_bench_writes_the_table_and_plots_reuses_finished_runs_and_repeats_exactly(sscl, tmp_path):
    args = ["bench", "digits-5", "--methods", "finetune", "er+fixmatch", "--seeds", "0", "--jobs", "2", *TINY]
    code, out, err = sscl(*args, "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert "| finetune | 0 |" in out and "| er+fixmatch | 0 |" in out and "Framework overhead" in out
    a = tmp_path / "a"
    assert sorted(p.name for p in (a / "runs").iterdir()) == [
        "er+fixmatch-s0",
        "finetune-s0",
        "handwritten-finetune-s0",
    ]
    text = (a / "results.md").read_text()
    for column in ("task-IL MAA", "class-IL forgetting", "median iter (ms)", "iter / finetune", "peak RSS (MiB)"):
        assert column in text
    assert "final weights of the two loops: identical" in text
    assert {p.name for p in (a / "plots").iterdir()} >= {"average-accuracy.png", "iteration-time.png"}
    code, out, _ = sscl(*args, "--out", str(a))
    assert code == 0 and out.count("reusing") == 3
    code, _, err = sscl(*args, "--out", str(tmp_path / "b"))
    assert code == 0, err
    assert accuracies(a) == accuracies(tmp_path / "b")


def test_bench_refuses_to_mix_a_run_of_another_config_into_its_folder(sscl, tmp_path):
    args = ["bench", "digits-5", "--methods", "finetune", "--seeds", "0", *TINY, "--out", str(tmp_path)]
    (tmp_path / "runs" / "finetune-s0").mkdir(parents=True)
    (tmp_path / "runs" / "finetune-s0" / "config.yaml").write_text("seed: 0\nmethod: {name: er}\n")
    code, out, err = sscl(*args)
    assert code == 2 and "holds a run of another config" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bench", "no-such-protocol"], "neither a config file nor an installed preset"),
        (["bench", "digits-5", "--jobs", "0"], "--jobs must be at least 1"),
        (["bench", "edgehml-digits-5"], "has no 'bench' section"),
        (["bench", "digits-5", "--methods", "a b"], "is not a method name"),
        (["report", "no/such/dir"], "is not a run directory"),
        (["report", "foreign"], "is not the metrics file of an sscl run (bad or missing 'timing')"),
        (["report", "broken"], "is not the metrics file of an sscl run"),
    ],
)
def test_bench_and_report_bad_input_is_one_line_exit_2(sscl, tmp_path, args, message):
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "metrics.json").write_text('{"seed": 0}')
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metrics.json").write_text('{"seed": 0, "tim')
    code, out, err = sscl(*args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_handwritten_loop_ends_with_the_framework_finetunes_weights(tmp_path):
    config = load_config(protocols()["digits-5"], ["train.iters_per_task=6", "dataset.test_per_class=5"])
    result = measure_overhead(config, load_registry(), rounds=1, scratch=tmp_path)
    assert result["same_weights"] and len(result["ratios"]) == 1 and result["ratio"] > 0
    changed = load_config(protocols()["digits-5"], ["train.iters_per_task=6", "train.lr=0.01"])
    other = train_handwritten(changed, load_registry()).model.state_dict()
    again = train_handwritten(config, load_registry()).model.state_dict()
    assert any(not (other[k] == again[k]).all() for k in again)


def test_report_renders_every_plot_from_run_directories(sscl, tmp_path):
    code, _, err = sscl("run", "digits-5", "--method", "er", *TINY, "--set", "run_name=er-s3")
    assert code == 0, err
    run_dir = tmp_path / "runs" / "er-s3"
    code, out, err = sscl("report", str(run_dir), "--out", str(tmp_path / "report"))
    assert code == 0, err
    assert "| er | 3 |" in out
    plots = sorted((tmp_path / "report" / "plots").iterdir())
    assert [p.name for p in plots] == ["average-accuracy.png", "er-s3-accuracy.png", "iteration-time.png"]
    for plot in plots:
        with Image.open(plot) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 100
            assert sum(1 for count in image.convert("L").histogram() if count) > 10, f"{plot.name} is blank"


def test_report_without_matplotlib_still_writes_the_tables(sscl, tmp_path, monkeypatch):
    code, _, _ = sscl("run", "digits-5", "--method", "finetune", *TINY, "--set", "run_name=finetune-s0")
    assert code == 0
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    code, out, err = sscl("report", str(tmp_path / "runs"), "--out", str(tmp_path / "r"))
    assert code == 0, err
    assert "no plots: plots need matplotlib: pip install 'sscl-plugin-bench[plots]'" in out
    assert (tmp_path / "r" / "results.md").is_file() and not (tmp_path / "r" / "plots").exists()


def test_run_labels_and_two_runs_of_one_label_and_seed(tmp_path):
    assert run_label(Path("20261202-101500-digits-er-s0")) == "digits-er"
    assert run_label(Path("der+fixmatch-s2")) == "der+fixmatch"
    for folder in ("a", "b"):
        (tmp_path / folder / "x-s0").mkdir(parents=True)
        timing = dict.fromkeys(("median_iteration_seconds", "mean_iteration_seconds", "total_train_seconds"), 1.0)
        (tmp_path / folder / "x-s0" / "metrics.json").write_text(json.dumps({"seed": 0, "timing": timing}))
    with pytest.raises(SsclError, match="two runs of 'x' with seed 0"):
        load_runs([tmp_path])


def test_plots_need_matplotlib_only_when_drawn(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    with pytest.raises(ImportError, match="sscl-plugin-bench\\[plots\\]"):
        write_plots([], build_rows([]), tmp_path)


def test_bench_resumes_a_run_it_finds_unfinished(sscl, tmp_path):
    registry = load_registry()
    sets = ["train.iters_per_task=4", "dataset.test_per_class=10", "seed=0", "run_name=er-s0"]
    config = load_config(protocols()["digits-5"], [*sets, f"output_dir={tmp_path / 'runs'}"], {"method": "er"})
    run_dir = tmp_path / "runs" / "er-s0"
    run_dir.mkdir(parents=True)
    write_config(run_dir, resolve_components(config, registry).resolved_config(config))
    protocol = read_protocol("digits-5", protocols()["digits-5"])
    (planned,), _ = plan_runs(protocol, protocol.select(["er"]), (0,), sets[:2], tmp_path, registry)
    assert planned.mode == "resume" and planned.command[4:6] == ["--resume", str(run_dir)]
    code, out, err = sscl("bench", "digits-5", "--methods", "er", "--seeds", "0", *TINY, "--out", str(tmp_path))
    assert code == 0, err
    assert "reusing" not in out and read_manifest(run_dir).finished
