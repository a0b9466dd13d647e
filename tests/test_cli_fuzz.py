"""Property-based tests (hypothesis): malformed configs and command lines end in one error line and exit code 2,
never a traceback.

The CLI runs in-process with the installed plugins' registry (loaded once). ``sscl config``, ``describe`` and
``list`` get arbitrary command lines, which may happen to be valid (exit 0); ``sscl run`` gets arbitrary ones
that end in a setting known to be wrong, so every case must fail before any training; ``sscl run --resume``
gets run directories with damaged checkpoints.
"""

import contextlib
import io
import json

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sscl_core import cli, testing
from sscl_core.plugins.registry import KINDS, load_registry
from sscl_core.run.checkpoint import CHECKPOINT_DIR, MANIFEST_FILE
from sscl_plugin_cl.er import ExperienceReplay
from sscl_plugin_cl.finetune import Finetune
from sscl_plugin_cl.reservoir import ReservoirPool

REGISTRY = load_registry()
NAMES = sorted({name for kind in KINDS for name in REGISTRY.names(kind)})
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

NUMBERS = ["0", "1", "-3", "2.5", ".nan", ".inf", "-.inf", "1e999", "99999999999999999999999", "true", "null", "[1]"]
VALUES = {
    "seed": NUMBERS + ["9223372036854775807", "9223372036854775808"],
    "device": ["cpu", "auto", "meta", "xla", "cuda:7", "cuda:x", "cpu:3", "mps", "''", "1"],
    "output_dir": ["a-file", "a-file/below", "runs", "a/b", "''", "null", "1", "[]"],
    "run_name": ["a/b", ".", "..", "''", "x\\y", "ok-name", "1", "null"],
    "keep_pool_disk": ["true", "1", "yes", "null"],
    "dataset": ["digits", "synthetic", "{}", "{name: 1}", "[digits]", "null", "no-such"],
    "backbone": ["small-cnn", "tiny-mlp", "{name: small-cnn, width: -1}", "[]", "null"],
    "method": ["er", "finetune", "{name: er, replay_batch_size: 0}", "{size: 1}", "null"],
    "memory_pool": ["reservoir", "{size: -1}", "{name: reservoir, size: .nan}", "{}", "[]", "null", "5"],
    "callbacks": ["[]", "[nope]", "[{}]", "[{name: 1}]", "{name: x}", "null", "x"],
    "train": ["{}", "{lr: 0}", "5", "null", "[]"],
    "train.lr_milestones": ["[]", "[0.5]", "[2]", "[.nan]", "[a]", "0.5", "null"],
    "train.grad_clip_norm": NUMBERS,
    "dataset.scenario": ["task-il", "class-il", "domain-il", "class", "", "null", "1"],
    "dataset.class_order": ["natural", "random", "[1, 1]", "[0, 99]", "[-1]", "[]", "[1.5]", "[true]", "rand"],
    "dataset.root": ["/nonexistent", "~nouser/x", "''", "null", "1"],
    "method.name": ["er", "finetune", "", "null", "1"],
}
KEYS = sorted(
    {*VALUES, "train.lr", "train.iters_per_task", "train.batch_size", "train.uratio", "train.momentum"}
    | {"train.eval_batch_size", "dataset.labels_per_class", "dataset.unlabeled_per_class", "dataset.num_tasks"}
    | {"dataset.classes_per_task", "method.replay_batch_size", "memory_pool.size", "backbone.width", "backbone.name"}
)
SYNTAX = ["", "[unclosed", "{a: b", "'quoted'", "&a [*a]", "!!python/object/apply:os.system ['true']", "a: b: c"]


def values_for(key):
    """Values worth trying for ``key`` (edge cases of its type, broken YAML), or any short text."""
    return st.sampled_from(VALUES.get(key, NUMBERS) + SYNTAX) | st.text(max_size=8)


names = st.sampled_from(NAMES) | st.text(max_size=12)
keys = st.sampled_from(KEYS) | st.text(max_size=12)
assignments = st.one_of(
    st.sampled_from(KEYS).flatmap(lambda k: values_for(k).map(lambda v: f"{k}={v}")),
    st.builds(lambda k, v: f"{k}={v}", st.text(max_size=10), st.text(max_size=8)),
    st.sampled_from(["=", "=1", "train..lr=1", ".=1", "train.lr.x=1", "a=b=c", "seed"]),
)
option = st.one_of(
    st.tuples(st.just("--set"), assignments),
    st.tuples(st.just("--set"), assignments),
    st.tuples(st.sampled_from(["--method", "--dataset", "--backbone"]), names),
    st.tuples(st.sampled_from(["--set", "--method", "--json", "--", "-x", "--resume"])),
    st.tuples(st.text(max_size=10)),
)
yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.sampled_from(NAMES),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys | st.integers(), children, max_size=4),
    max_leaves=12,
)
config_texts = st.one_of(
    st.text(max_size=80),
    st.builds(lambda d: yaml.safe_dump(d), st.dictionaries(st.sampled_from(KEYS), yaml_values, max_size=5)),
    st.lists(assignments, max_size=6).map(lambda items: "\n".join(a.replace("=", ": ", 1) for a in items)),
    st.builds(lambda v: yaml.safe_dump(v), yaml_values),
)
WRONG_LAST = [
    ["--set", "train.iters_per_task=0"],
    ["--set", "train.lr=fast"],
    ["--set", "zz_unknown_setting=1"],
    ["--set", "seed=[1"],
    ["--set", "method=no-such-method"],
    ["--set", "dataset.scenario=sideways"],
    ["--set", "device=tpu"],
    ["--resume", "no/such/run"],
    ["--no-such-option"],
]


@pytest.fixture(autouse=True)
def installed_registry(monkeypatch, tmp_path):
    """Every case sees the installed plugins (loaded once) and runs in a folder holding only ``a-file``."""
    monkeypatch.setattr(cli, "load_registry", lambda: REGISTRY)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a folder")


def call(argv):
    """Run the CLI in-process; return (exit code, stderr). ``--help`` (SystemExit 0) counts as success."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as done:
            code = done.code
    return code, err.getvalue()


def assert_clean(code, err, must_fail=False):
    assert code in ((2,) if must_fail else (0, 2)), (code, err)
    assert "Traceback" not in err
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("sscl: error: "), err


def flat(options):
    return [token for tokens in options for token in tokens]


@FUZZ
@given(
    command=st.sampled_from(["config", "describe", "list", "plugins"]),
    words=st.lists(names, max_size=3),
    options=st.lists(option, max_size=6),
    config_text=st.none() | config_texts,
)
@example(command="config", words=["\x00"], options=[], config_text=None)
@example(command="describe", words=["method", "er"], options=[("--set", "seed=1")], config_text=None)
def test_config_describe_list_never_crash(command, words, options, config_text):
    argv = [command, *words]
    if config_text is not None:
        with open("config.yaml", "w", encoding="utf-8") as f:
            f.write(config_text)
        argv.append("config.yaml")
    assert_clean(*call(argv + flat(options)))


@FUZZ
@given(
    options=st.lists(option, max_size=6),
    config_text=st.none() | config_texts,
    wrong=st.sampled_from(WRONG_LAST),
)
def test_run_with_a_wrong_setting_fails_in_one_line(options, config_text, wrong):
    argv = ["run"]
    if config_text is not None:
        with open("config.yaml", "w", encoding="utf-8") as f:
            f.write(config_text)
        argv.append("config.yaml")
    assert_clean(*call(argv + flat(options) + wrong), must_fail=True)


manifests = st.one_of(
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    st.builds(json.dumps, yaml_values),
    st.builds(
        lambda d: json.dumps({"format": "sscl-checkpoint", "version": 1, **d}),
        st.dictionaries(
            st.sampled_from(["tasks_done", "file", "sha256", "config_sha256", "finished"]), yaml_scalars, max_size=5
        ),
    ),
    st.builds(
        lambda n, f: json.dumps(
            {
                "format": "sscl-checkpoint",
                "version": 1,
                "tasks_done": n,
                "file": f,
                "sha256": "0" * 64,
                "config_sha256": "0" * 64,
                "finished": False,
            }
        ),
        st.integers(min_value=-2, max_value=3),
        st.sampled_from(["checkpoints/after-task-1.pt", "../../etc/passwd", "checkpoint.json", ""]),
    ),
)


@FUZZ
@given(
    config_text=config_texts | st.just(yaml.safe_dump({"dataset": "digits", "method": "finetune"})),
    manifest=manifests,
    checkpoint=st.binary(max_size=200),
)
def test_resume_of_a_damaged_run_directory_fails_in_one_line(config_text, manifest, checkpoint, tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(config_text, encoding="utf-8")
    (run_dir / MANIFEST_FILE).write_text(manifest, encoding="utf-8")
    (run_dir / CHECKPOINT_DIR / "after-task-1.pt").write_bytes(checkpoint)
    assert_clean(*call(["run", "--resume", str(run_dir)]), must_fail=True)


RUN_KEYS = [
    "seed",
    "device",
    "output_dir",
    "run_name",
    "keep_pool_disk",
    "train.lr",
    "train.momentum",
    "train.weight_decay",
    "train.lr_milestones",
    "train.lr_gamma",
    "train.grad_clip_norm",
    "train.eval_batch_size",
    "train.log_every",
    "dataset.labels_per_class",
    "memory_pool.size",
]
TINY_RUN = ["train.iters_per_task=1", "dataset.num_tasks=1", "train.batch_size=2", "train.uratio=1"]


def run_values(key):
    """Mostly the edge cases of ``key``; paths stay inside the test's folder."""
    edge = st.sampled_from(VALUES.get(key, NUMBERS))
    return st.one_of(edge, edge, edge, st.text(max_size=6)).filter(
        lambda v: not v.startswith(("/", "~")) and ".." not in v
    )


run_assignments = st.sampled_from(RUN_KEYS).flatmap(lambda k: run_values(k).map(lambda v: f"{k}={v}"))


@FUZZ
@given(method=st.sampled_from(["finetune", "er"]), assignments=st.lists(run_assignments, min_size=1, max_size=3))
@example(method="er", assignments=["seed=99999999999999999999999"])
@example(method="er", assignments=["device=meta"])
@example(method="er", assignments=["run_name=a/b"])
@example(method="er", assignments=["output_dir=a-file"])
@example(method="er", assignments=["train.lr=.nan"])
def test_tiny_runs_with_arbitrary_settings_end_cleanly(method, assignments, monkeypatch):
    registry = testing.make_registry(Finetune, ExperienceReplay, ReservoirPool)
    monkeypatch.setattr(cli, "load_registry", lambda: registry)
    argv = ["run", "--dataset", "synthetic", "--backbone", "tiny-mlp", "--method", method]
    for assignment in [*assignments, *TINY_RUN]:
        argv += ["--set", assignment]
    assert_clean(*call(argv))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("seed=-1", "seed must be between 0 and 9223372036854775807"),
        ("seed=18446744073709551616", "seed must be between 0 and 9223372036854775807"),
        ("device=meta", "unknown device 'meta'"),
        ("run_name=a/b", "run_name must be a plain folder name"),
        ("run_name=..", "run_name must be a plain folder name"),
        ("output_dir=a-file", "cannot create the run directory a-file/"),
        ("train.lr=.nan", "lr must be > 0, got nan"),
        ("train.momentum=.inf", "momentum must be a finite number >= 0, got inf"),
        ("train.grad_clip_norm=-1", "grad_clip_norm must be > 0, got -1.0"),
    ],
)
def test_settings_the_fuzzer_found_are_refused_in_one_line(setting, message, monkeypatch):
    monkeypatch.setattr(cli, "load_registry", lambda: testing.make_registry(Finetune))
    argv = ["run", "--dataset", "synthetic", "--backbone", "tiny-mlp", "--method", "finetune", "--set", setting]
    code, err = call(argv)
    assert_clean(code, err, must_fail=True)
    assert message in err, err
