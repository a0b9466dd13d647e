"""Grid axes of sscl bench: parsing, run names, the report grouped by axis, bad input, and the bench without Ray."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sscl_core import SsclError
from sscl_core.plugins.registry import load_registry
from sscl_plugin_bench.grid import grid_points, make_axis, merge_axes, parse_grid_option, point_suffix, split_name
from sscl_plugin_bench.plan import plan_runs
from sscl_plugin_bench.protocol import read_protocol
from sscl_plugin_bench.ray_executor import INSTALL_LINE

TINY = ["--set", "train.iters_per_task=4", "--set", "dataset.test_per_class=10"]


def test_grid_values_parse_like_set_values_and_name_their_run_directories():
    axis = parse_grid_option("dataset.labels_per_class=5,25,100")
    assert axis.key == "dataset.labels_per_class" and axis.values == (5, 25, 100)
    assert parse_grid_option("a.b='x,y',true,[1, 2],0.5,5").values == ("x,y", True, [1, 2], 0.5, 5)
    points = grid_points((axis, make_axis("memory_pool.size", [200, 500], "test")))
    assert len(points) == 6 and points[1] == {"dataset.labels_per_class": 5, "memory_pool.size": 500}
    for point in [*points, {"a.b": "x,y/z"}, {"a.b": [1, 2]}, {"a.b": "5"}, {"a.b": None}]:
        name = "der+fixmatch" + point_suffix(point)
        assert "/" not in name and split_name(name) == ("der+fixmatch", point)
    merged = merge_axes([make_axis("a", [1], "p"), make_axis("b", [2], "p")], [make_axis("a", [3, 4], "o")])
    assert [(a.key, a.values) for a in merged] == [("a", (3, 4)), ("b", (2,))]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("memory_pool.size=", "expected a non-empty list of values for 'memory_pool.size'"),
        ("memory_pool.size", "expected KEY=V1,V2,..."),
        ("seed=1,2", "use --seeds"),
        ("a b=1", "is not a config key"),
        ("memory_pool.size=[1,", "cannot parse value"),
    ],
)
def test_a_bad_grid_option_is_one_clear_error(option, message):
    with pytest.raises(SsclError) as error:
        parse_grid_option(option)
    assert message in str(error.value)


def test_a_protocol_grid_section_is_read_and_its_points_planned_seeds_outer(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "dataset: digits\nbench:\n  methods: [er, der]\n  seeds: [0, 1]\n"
        "  grid: {memory_pool.size: [20, 50]}\n  resources: {num_cpus: 2, num_gpus: 0.5}\n"
    )
    protocol = read_protocol("p", path)
    assert protocol.resources.num_cpus == 2 and protocol.resources.num_gpus == 0.5
    planned, _ = plan_runs(protocol, protocol.methods, protocol.seeds, [], tmp_path, load_registry(), protocol.grid)
    assert [r.run_dir.name for r in planned[:4]] == [
        "er,memory_pool.size=20-s0",
        "der,memory_pool.size=20-s0",
        "er,memory_pool.size=50-s0",
        "der,memory_pool.size=50-s0",
    ]
    assert len(planned) == 8 and "memory_pool.size=50" in planned[2].command
    for bad, message in [("grid: {memory_pool.size: []}", "non-empty list"), ("resources: {num_cpus: 0}", "num_cpus")]:
        path.write_text(f"dataset: digits\nbench:\n  methods: [er]\n  {bad}\n")
        with pytest.raises(SsclError, match=message):
            read_protocol("p", path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "memory_pool.sise=20,50"], "--grid memory_pool.sise: no run of this bench has that setting"),
        (["--grid", "memory_pool.size="], "expected a non-empty list of values"),
        (["--out", "afile/sub"], "--out "),
        (["--executor", "ray", "--out", "afile/sub"], "--out "),
        (["--address", "127.0.0.1:1"], "are options of --executor ray"),
    ],
)
def test_bad_grid_and_executor_input_is_one_line_exit_2(sscl, tmp_path, args, message):
    pytest.importorskip("ray") if "ray" in args else None
    (tmp_path / "afile").write_text("")
    code, _, err = sscl("bench", "digits-5", "--methods", "er", "der", "--seeds", "0", *TINY, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_report_groups_a_grid_by_every_axis_with_a_plot_against_each_numeric_axis(sscl, tmp_path):
    grid = ["--grid", "memory_pool.size=20,50", "--grid", "method.replay_weight=0.5,1.0"]
    code, out, err = sscl("bench", "digits-5", "--methods", "er", "--seeds", "0", *TINY, *grid, "--out", "g")
    assert code == 0, err
    assert len(list((tmp_path / "g" / "runs").iterdir())) == 4
    code, out, err = sscl("report", "g/runs", "--out", "r")
    assert code == 0, err
    text = (tmp_path / "r" / "results.md").read_text()
    assert "| method | memory_pool.size | method.replay_weight | seeds |" in text
    for section in ("## By memory_pool.size", "### memory_pool.size = 50", "### method.replay_weight = 0.5"):
        assert section in text
    assert text.count("| er | 20 | 0.5 | 0 |") == 4  # accuracy and cost tables, and a table per axis value
    rows = json.loads((tmp_path / "r" / "results.json").read_text())["rows"]
    assert {json.dumps(row["point"], sort_keys=True) for row in rows} == {
        json.dumps({"memory_pool.size": s, "method.replay_weight": w}, sort_keys=True)
        for s in (20, 50)
        for w in (0.5, 1.0)
    }
    plots = {p.name for p in (tmp_path / "r" / "plots").iterdir()}
    assert {"accuracy-vs-memory_pool.size.png", "accuracy-vs-method.replay_weight.png"} <= plots


WITHOUT_RAY = "import sys; sys.modules['ray'] = None; from sscl_core.cli import main; sys.exit(main(sys.argv[1:]))"


def test_without_ray_the_local_bench_runs_and_the_ray_executor_names_the_extra(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["bench", "digits-5", "--methods", "er", "--seeds", "0", *TINY, "--out", str(tmp_path / "b")]

    def sscl(*more):
        command = [sys.executable, "-c", WITHOUT_RAY, *args, *more]
        return subprocess.run(command, capture_output=True, text=True, env=env, check=False)

    local = sscl("--grid", "memory_pool.size=20,50")
    assert local.returncode == 0, local.stderr
    assert len(list(Path(tmp_path / "b" / "runs").iterdir())) == 2
    ray = sscl("--executor", "ray")
    assert ray.returncode == 2 and ray.stderr.strip() == f"sscl: error: {INSTALL_LINE}"
