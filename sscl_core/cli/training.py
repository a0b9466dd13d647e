"""The commands that train or resolve a run: ``sscl run`` and ``sscl config``."""

import argparse

import yaml

from sscl_core.api.command import Command, add_overrides_argument
from sscl_core.config.run_config import RunConfig, load_config
from sscl_core.plugins.registry import Registry, config_path
from sscl_core.run.resolve import resolve_components
from sscl_core.run.resume import check_run_dir
from sscl_core.run.rundir import CONFIG_FILE


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config", nargs="?", help="YAML config file or an installed preset's name (default: the embedded digits demo)"
    )
    parser.add_argument("--method", help="learning method, replacing the config's (METHOD+LOSS adds an unlabeled loss)")
    parser.add_argument("--dataset", help="dataset, replacing the config's")
    parser.add_argument("--backbone", help="backbone, replacing the config's")
    add_overrides_argument(parser, "override a setting, e.g. --set train.iters_per_task=100 (repeatable)")


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    _add_config_arguments(parser)
    parser.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue this run after its last checkpoint, with its own config.yaml (a CONFIG or options given "
        "must resolve to the same config)",
    )


def _config_from(args: argparse.Namespace, registry: Registry, base: str | None = None) -> RunConfig:
    chosen = {"method": args.method, "dataset": args.dataset, "backbone": args.backbone}
    source = config_path(args.config, registry) if args.config else base
    return load_config(source, args.overrides, chosen)


def format_matrix(matrix: list[list[float | None]]) -> str:
    """An accuracy matrix as aligned text, rows = after task i, columns = task j."""
    header = "after \\ on " + "".join(f"{'T' + str(j + 1):>8}" for j in range(len(matrix[0])))
    rows = [
        f"{'T' + str(i + 1):<11}" + "".join(f"{'' if v is None else f'{v:.2f}':>8}" for v in row)
        for i, row in enumerate(matrix)
    ]
    return "\n".join([header, *rows])


def command_run(args: argparse.Namespace, registry: Registry) -> None:
    """Train and print the accuracy matrices and summary."""
    from sscl_core.run.trainer import Trainer

    if args.resume is not None:
        run_dir = check_run_dir(args.resume)
        config = _config_from(args, registry, base=str(run_dir / CONFIG_FILE))
        trainer = Trainer.resume(run_dir, config, registry, echo=print, progress_bar=True)
    else:
        trainer = Trainer(_config_from(args, registry), registry, echo=print, progress_bar=True)
    result = trainer.run()
    metrics = result.metrics
    evaluation = metrics["evaluation"]
    key, unit = evaluation["key"], evaluation["unit"]
    for metric in evaluation["metrics"]:
        summary = metrics["summary"][metric]
        print(f"\n{metric} {key}{f' ({unit})' if unit else ''}\n{format_matrix(metrics[key][metric])}")
        print(
            f"{metric}: mean average {key} {summary['mean_average_accuracy']:.2f}{unit}, "
            f"final average {key} {summary['final_average_accuracy']:.2f}{unit}, "
            f"forgetting {summary['average_forgetting']:.2f}"
        )
    timing = metrics["timing"]
    print(
        f"\nmedian iteration time {1000 * timing['median_iteration_seconds']:.2f} ms "
        f"(data {100 * timing['data_share']:.0f}%), train time {timing['total_train_seconds']:.1f}s, "
        f"peak RSS {metrics['memory']['peak_rss_bytes'] / 2**20:.0f} MiB"
    )
    print(f"run directory: {result.run_dir}")


def command_config(args: argparse.Namespace, registry: Registry) -> None:
    """Print the resolved config."""
    config = _config_from(args, registry)
    resolved = resolve_components(config, registry).resolved_config(config)
    print(yaml.safe_dump(resolved, sort_keys=False), end="")


RUN = Command("run", "train a method on a task stream and write a run directory", _add_run_arguments, command_run)
CONFIG = Command(
    "config", "print the resolved config (defaults included) as YAML", _add_config_arguments, command_config
)
