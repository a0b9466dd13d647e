"""Run configuration: YAML (safe_load only) and ``--set key=value`` overrides into an attrs ``RunConfig``; component
sections are a name or a mapping with a ``name`` and its hyperparameters (checked when the run resolves them), and
``method: A+B`` is method ``A`` with the unlabeled loss ``B``."""

import copy
from pathlib import Path
from typing import Any

import attrs
import torch
import yaml

from sscl_core.api.components import build, hyperparameters, one_of, param
from sscl_core.api.errors import SsclError
from sscl_core.api.validators import non_negative, positive

COMPONENT_SECTIONS = ("dataset", "backbone", "model", "evaluator", "method", "unlabeled", "memory_pool")
OPTIONAL_NAME_SECTIONS = ("model", "evaluator", "memory_pool", "unlabeled")
"""Sections whose component name may be left out (settings of the default component, or of none)."""
OPTIMIZERS = ("sgd", "adam", "adamw")
"""The optimizers a run can train with (``train.optimizer``)."""
MAX_SEED = 2**63 - 1
"""Largest seed torch's generators accept as a signed 64-bit number."""
MAX_BATCH = 65536
"""Largest labeled batch, unlabeled batch (batch_size * uratio) and evaluation batch a config may ask for."""


def _batch(_instance: Any, attribute: Any, value: int) -> None:
    if not 1 <= value <= MAX_BATCH:
        raise ValueError(f"{attribute.name} must be between 1 and {MAX_BATCH}, got {value!r}")


def _seed(_instance: Any, attribute: Any, value: int) -> None:
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"{attribute.name} must be between 0 and {MAX_SEED}, got {value!r}")


def _folder_name(_instance: Any, attribute: Any, value: str | None) -> None:
    if value is not None and (value in ("", ".", "..") or any(c in value for c in "/\\\0")):
        raise ValueError(f"{attribute.name} must be a plain folder name (no '/', not '.' or '..'), got {value!r}")


def _fractions(_instance: Any, attribute: Any, value: Any) -> None:
    if any(not 0.0 <= v <= 1.0 for v in value):
        raise ValueError(f"{attribute.name} must be fractions of a task between 0 and 1, got {list(value)!r}")


@attrs.define(kw_only=True)
class TrainConfig:
    """The training schedule, shared by every method: iterations, batch shape and optimizer."""

    iters_per_task: int = param(200, help="training iterations per task", validator=positive)
    batch_size: int = param(8, help="labeled samples per iteration (B)", validator=_batch)
    uratio: int = param(7, help="unlabeled samples per labeled sample in a batch (mu)", validator=positive)
    optimizer: str = param("sgd", help="optimizer: sgd, adam or adamw (torch.optim)", validator=one_of(*OPTIMIZERS))
    lr: float = param(0.03, help="learning rate", validator=positive)
    momentum: float = param(0.9, help="SGD momentum (sgd only)", validator=non_negative)
    weight_decay: float = param(5e-4, help="weight decay", validator=non_negative)
    lr_milestones: list[float] = param(
        [0.8, 0.9],
        help="fractions of each task where the learning rate is multiplied by lr_gamma",
        validator=_fractions,
    )
    lr_gamma: float = param(0.1, help="learning-rate factor at each milestone", validator=positive)
    grad_clip_norm: float | None = param(
        None,
        help="clip the gradient norm to this value (null: no clipping)",
        validator=attrs.validators.optional(positive),
    )
    virtual_epoch_iters: int = param(
        100, help="iterations per virtual epoch (before_epoch/after_epoch)", validator=positive
    )
    eval_batch_size: int = param(512, help="batch size of evaluation", validator=_batch)
    log_every: int = param(50, help="write losses to events.jsonl every this many iterations", validator=positive)

    def __attrs_post_init__(self) -> None:
        if self.batch_size * self.uratio > MAX_BATCH:
            raise ValueError(
                f"batch_size * uratio (the unlabeled batch) must be at most {MAX_BATCH}, got "
                f"{self.batch_size} * {self.uratio}: lower one of them"
            )

    def make_optimizer(self, params: list[torch.nn.Parameter], task_iter: int) -> torch.optim.Optimizer:
        """A new optimizer of the configured kind over ``params``, at the learning rate of ``task_iter``."""
        lr = self.lr_at(task_iter)
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, lr=lr, momentum=self.momentum, weight_decay=self.weight_decay)
        kind = torch.optim.Adam if self.optimizer == "adam" else torch.optim.AdamW
        return kind(params, lr=lr, weight_decay=self.weight_decay)

    def lr_at(self, task_iter: int) -> float:
        """The learning rate at in-task iteration ``task_iter``; the schedule restarts with every task."""
        passed = sum(1 for m in self.lr_milestones if task_iter >= round(m * self.iters_per_task))
        return self.lr * self.lr_gamma**passed


@attrs.define(kw_only=True)
class RunConfig:
    """Everything a run needs; ``sscl config`` prints it resolved."""

    seed: int = param(0, help="seed of the class order, label choice, initialization and sampling", validator=_seed)
    device: str = param("auto", help="auto, cpu, cuda, cuda:N or mps (auto: cuda when available)")
    output_dir: str = param("runs", help="folder that receives the run directory")
    run_name: str | None = param(
        None, help="name of the run directory (default: time, dataset, method, seed)", validator=_folder_name
    )
    keep_pool_disk: bool = param(
        False, help="keep the files components keep (RUN_DIR/files, e.g. the pool's disk tier) when the run ends"
    )
    keep_checkpoints: bool = param(
        False, help="keep the model checkpoint of every task (sscl export --task N), not only the latest one"
    )
    dataset: dict[str, Any] = param({"name": "digits"}, help="dataset component and its settings")
    backbone: dict[str, Any] | None = param(
        {"name": "small-cnn"}, help="backbone component and its settings (unused by models that build their own)"
    )
    model: dict[str, Any] | None = param(
        None, help="model component that builds the network (null or no name: the dataset's default model)"
    )
    evaluator: dict[str, Any] | None = param(
        None, help="evaluator that scores every seen task (null or no name: the dataset's default evaluator)"
    )
    method: dict[str, Any] = param({"name": "edgehml"}, help="learning method and its settings")
    unlabeled: dict[str, Any] | None = param(
        None,
        help="unlabeled loss added to the method's losses (e.g. {name: fixmatch, weight: 1}); "
        "'--method der+fixmatch' sets it too (null: none)",
    )
    memory_pool: dict[str, Any] | None = param(
        None, help="memory pool for replay methods; without a name, settings of the method's default pool"
    )
    callbacks: list[dict[str, Any]] = param([], help="callback components")
    active_learning: dict[str, Any] | None = param(
        None,
        help="{strategy: NAME, budget_per_class: K} or {strategy: NAME, budget_per_task: K}, plus the strategy's "
        "settings: a query strategy chooses each task's labels (null: the dataset's labels)",
    )
    train: TrainConfig = attrs.field(factory=TrainConfig, metadata={"help": "training schedule"})

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as written to config.yaml."""
        return hyperparameters(self)


def _component_spec(value: Any, where: str, name_required: bool = True) -> dict[str, Any]:
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, dict) and (isinstance(value.get("name"), str) or ("name" not in value and not name_required)):
        return dict(value)
    raise SsclError(f"{where}: expected a component name or a mapping with a 'name', got {value!r}")


def _split_composition(data: dict[str, Any]) -> None:
    """Turn ``method: {name: A+B, ...}`` into ``method: {name: A, ...}`` and ``unlabeled: {name: B, ...}``."""
    method = data.get("method")
    if method is None or "+" not in method["name"]:
        return
    base, _, loss = method["name"].partition("+")
    if not base or not loss or "+" in loss:
        raise SsclError(
            f"method: '{method['name']}' is not METHOD+UNLABELED_LOSS: name one method and one unlabeled loss, "
            "e.g. der+fixmatch"
        )
    unlabeled = data.get("unlabeled") or {}
    if unlabeled.get("name", loss) != loss:
        raise SsclError(
            f"method '{method['name']}' names the unlabeled loss '{loss}', but unlabeled.name is "
            f"'{unlabeled['name']}': keep one of them"
        )
    data["method"] = {**method, "name": base}
    data["unlabeled"] = {**unlabeled, "name": loss}


def normalize(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn component shorthands (``method: er``, ``method: der+fixmatch``) into mappings and check their shape."""
    data = copy.deepcopy(raw)
    for section in COMPONENT_SECTIONS:
        if data.get(section) is not None:
            data[section] = _component_spec(data[section], section, name_required=section not in OPTIONAL_NAME_SECTIONS)
    _split_composition(data)
    if "callbacks" in data:
        if not isinstance(data["callbacks"], list):
            raise SsclError(f"callbacks: expected a list of components, got {data['callbacks']!r}")
        data["callbacks"] = [_component_spec(c, f"callbacks[{i}]") for i, c in enumerate(data["callbacks"])]
    return data


BENCH_SECTION = "bench"
"""Top-level section of a config file that ``sscl bench`` reads (methods, seeds) and ``sscl run`` ignores."""


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file with ``yaml.safe_load``; an empty file is an empty config."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SsclError(f"config file {path} does not exist: check the path") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SsclError(f"cannot read config file {path}: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SsclError(f"config file {path} is not valid YAML{where}: fix the syntax there") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SsclError(f"config file {path} must hold a mapping of settings, got {type(data).__name__}")
    return data


def parse_value(text: str, where: str) -> Any:
    """The value of an override's text: a YAML scalar or flow collection (empty text is null); ``where`` names
    the option in the error."""
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        raise SsclError(f"{where}: cannot parse value {text!r}; quote strings and use [a, b] for lists") from None


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one ``a.b=c`` override in place; the value is parsed as a YAML scalar or flow collection."""
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise SsclError(f"--set {assignment!r}: expected KEY=VALUE, e.g. --set train.iters_per_task=100")
    value = parse_value(text, f"--set {key}")
    parts = key.strip().split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = {}
            node[part] = child
        if not isinstance(child, dict):
            raise SsclError(f"--set {key}: '{'.'.join(parts[: i + 1])}' is not a section")
        node = child
    node[parts[-1]] = value


def load_config(
    path: str | Path | None = None, overrides: list[str] = (), components: dict[str, str | None] | None = None
) -> RunConfig:
    """A RunConfig from defaults, an optional YAML file, component choices and ``--set`` overrides; ``components``
    replaces a section's component and drops the file's settings of it (a new method: its unlabeled loss too)."""
    data = read_yaml(path) if path is not None else {}
    data.pop(BENCH_SECTION, None)
    data = normalize(data)
    defaults = RunConfig()
    for section in ("dataset", "backbone", "method"):
        data.setdefault(section, dict(getattr(defaults, section)))
    for section, name in (components or {}).items():
        if name is not None:
            data[section] = {"name": name}
            if section == "method":
                data.pop("unlabeled", None)
    data = normalize(data)
    for assignment in overrides:
        apply_override(data, assignment)
        data = normalize(data)
    if data.get("unlabeled") is not None and "name" not in data["unlabeled"]:
        raise SsclError(
            "unlabeled: settings given without a loss: name one (unlabeled.name=fixmatch) or compose it with the "
            "method (--method der+fixmatch)"
        )
    return build(RunConfig, data, "config")
