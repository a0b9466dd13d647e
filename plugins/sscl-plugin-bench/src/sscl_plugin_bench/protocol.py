"""Benchmark protocols: a config file with a ``bench`` section naming the methods to compare and the seeds.

A protocol is a preset like any other (``sscl run fmnist-5`` runs its base config); ``sscl bench`` also reads
its ``bench`` section::

    bench:
      seeds: [0, 1, 2]
      references: [finetune, der+fixmatch]   # iteration and train-time ratios are taken to these
      handwritten_loop: true                 # also time a plain PyTorch loop doing what finetune does
      grid: {dataset.labels_per_class: [5, 25, 100]}   # axes: every point is a run per method and seed
      resources: {num_cpus: 1, num_gpus: 0}  # what one run takes on Ray (--executor ray)
      methods:
        - der                                # the base config with --method der
        - {label: edgehml, preset: edgehml-fmnist-5}                        # another preset's config
        - {label: edgehml-no-disk-tier, preset: edgehml-fmnist-5, set: [memory_pool.disk_size=0]}

An entry runs the base config with ``--method METHOD`` (``method`` defaults to the label), or the config of
``preset``; ``set`` adds ``--set`` overrides. ``grid`` and ``resources`` are described in
:mod:`~sscl_plugin_bench.grid` and by :class:`Resources`. The core ships the protocols of docs/benchmarks.md; a
plugin adds one by registering a preset whose file has a ``bench`` section.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs

from sscl_core.api.errors import SsclError
from sscl_core.config.run_config import BENCH_SECTION, read_yaml
from sscl_plugin_bench.grid import Axis, make_axis

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
"""What a method label may look like (it names a run directory)."""
SECTION_KEYS = ("seeds", "methods", "references", "handwritten_loop", "grid", "resources")
"""The keys of a bench section."""
HANDWRITTEN_LABEL = "handwritten-finetune"
"""Label of the plain PyTorch loop that measures the framework's overhead against ``finetune``."""


@attrs.frozen
class BenchEntry:
    """One row of a protocol: a label, and the config it runs (the protocol's with ``method``, or ``preset``)."""

    label: str
    method: str | None = None
    preset: str | None = None
    overrides: tuple[str, ...] = ()

    def run_arguments(self, protocol_config: str) -> list[str]:
        """Arguments of ``sscl run`` for this entry (without the seed and output settings)."""
        if self.preset is not None:
            args = [self.preset]
        else:
            args = [protocol_config, "--method", self.method or self.label]
        for assignment in self.overrides:
            args += ["--set", assignment]
        return args


@attrs.frozen
class Resources:
    """What one run of the bench takes on Ray: CPUs (also its torch threads) and GPUs."""

    num_cpus: int = 1
    num_gpus: float = 0

    @classmethod
    def read(cls, raw: Any, where: str) -> Resources:
        """Resources from a bench section's ``resources`` mapping; one clear error when malformed."""
        if not isinstance(raw, dict) or set(raw) - {"num_cpus", "num_gpus"}:
            raise SsclError(f"{where}: expected {{num_cpus: N, num_gpus: G}}, got {raw!r}")
        cpus, gpus = raw.get("num_cpus", 1), raw.get("num_gpus", 0)
        if not isinstance(cpus, int) or isinstance(cpus, bool) or cpus < 1:
            raise SsclError(f"{where}.num_cpus: expected an integer >= 1 (it is also the run's torch threads)")
        if not isinstance(gpus, int | float) or isinstance(gpus, bool) or gpus < 0:
            raise SsclError(f"{where}.num_gpus: expected a number >= 0, got {gpus!r}")
        return cls(num_cpus=cpus, num_gpus=gpus)


@attrs.frozen
class Protocol:
    """A protocol's base config file and its bench section."""

    name: str
    config: Path
    seeds: tuple[int, ...]
    methods: tuple[BenchEntry, ...]
    references: tuple[str, ...] = ()
    handwritten_loop: bool = False
    grid: tuple[Axis, ...] = ()
    resources: Resources = Resources()

    def select(self, labels: list[str] | None) -> tuple[BenchEntry, ...]:
        """The entries named by ``labels`` in that order (a name the protocol lacks runs as ``--method NAME``);
        every entry when ``labels`` is None."""
        if labels is None:
            return self.methods
        known = {entry.label: entry for entry in self.methods}
        chosen = []
        for label in dict.fromkeys(labels):
            if not LABEL.match(label):
                raise SsclError(f"--methods: {label!r} is not a method name (letters, digits, '-', '_', '.', '+')")
            chosen.append(known.get(label) or BenchEntry(label=label))
        return tuple(chosen)


def _entry(raw: Any, where: str) -> BenchEntry:
    if isinstance(raw, str):
        raw = {"label": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("label"), str):
        raise SsclError(f"{where}: expected a method name or a mapping with a 'label', got {raw!r}")
    unknown = set(raw) - {"label", "method", "preset", "set"}
    if unknown:
        raise SsclError(f"{where}: unknown keys {sorted(unknown)} (keys: label, method, preset, set)")
    label = raw["label"]
    if not LABEL.match(label) or label == HANDWRITTEN_LABEL:
        raise SsclError(f"{where}: label {label!r} must be letters, digits, '-', '_', '.', '+' (and not reserved)")
    if raw.get("method") is not None and raw.get("preset") is not None:
        raise SsclError(f"{where}: give 'method' or 'preset', not both")
    overrides = raw.get("set") or []
    if not isinstance(overrides, list) or not all(isinstance(s, str) and "=" in s for s in overrides):
        raise SsclError(f"{where}: 'set' must be a list of KEY=VALUE strings, got {overrides!r}")
    return BenchEntry(label=label, method=raw.get("method"), preset=raw.get("preset"), overrides=tuple(overrides))


def read_protocol(name: str, path: Path) -> Protocol:
    """The protocol in config file ``path``; one clear error when its bench section is missing or malformed."""
    section = read_yaml(path).get(BENCH_SECTION)
    if not isinstance(section, dict):
        raise SsclError(
            f"{path} has no '{BENCH_SECTION}' section, so it is a config but not a protocol: add one "
            "(bench: {seeds: [0, 1, 2], methods: [er, der]}) or pick a protocol from 'sscl list presets'"
        )
    where = f"{path}: {BENCH_SECTION}"
    unknown = set(section) - set(SECTION_KEYS)
    if unknown:
        raise SsclError(f"{where}: unknown keys {sorted(unknown)} (keys: {', '.join(SECTION_KEYS)})")
    seeds = section.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise SsclError(f"{where}.seeds: expected a list of seeds (integers >= 0), got {seeds!r}")
    methods = section.get("methods")
    if not isinstance(methods, list) or not methods:
        raise SsclError(f"{where}.methods: expected a list of methods, got {methods!r}")
    entries = tuple(_entry(raw, f"{where}.methods[{i}]") for i, raw in enumerate(methods))
    labels = [entry.label for entry in entries]
    if len(set(labels)) != len(labels):
        raise SsclError(f"{where}.methods: labels repeat: {sorted({x for x in labels if labels.count(x) > 1})}")
    references = section.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise SsclError(f"{where}.references: expected a list of labels, got {references!r}")
    handwritten = section.get("handwritten_loop", False)
    if not isinstance(handwritten, bool):
        raise SsclError(f"{where}.handwritten_loop: expected true or false, got {handwritten!r}")
    grid = section.get("grid", {})
    if not isinstance(grid, dict):
        raise SsclError(f"{where}.grid: expected a mapping of config keys to lists of values, got {grid!r}")
    return Protocol(
        name=name,
        config=path,
        seeds=tuple(dict.fromkeys(seeds)),
        methods=entries,
        references=tuple(references),
        handwritten_loop=handwritten,
        grid=tuple(make_axis(key, values, f"{where}.grid") for key, values in grid.items()),
        resources=Resources.read(section.get("resources", {}), f"{where}.resources"),
    )
