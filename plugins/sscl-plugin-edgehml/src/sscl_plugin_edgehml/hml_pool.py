"""EdgeHML's hierarchical memory pool ``hml``: labeled samples in RAM, pseudo-labeled ones on disk and in RAM.

Three tiers: M_L, a reservoir of the labeled stream in RAM; D_U, a reservoir of confidently pseudo-labeled
samples on disk (:class:`~sscl_plugin_edgehml.disk_store.DiskStore`); M_U, pseudo-labeled samples in RAM,
redrawn from D_U at each task end towards rare and hard classes. M_L and M_U together never hold more than
``size`` samples; a new labeled sample pushes out a random pseudo-labeled one. With ``disk_size: 0`` there is
no disk tier (EdgeHML's "no disk tier" ablation): pseudo-labeled samples go straight into M_U by reservoir
sampling over the room M_L leaves, and the task-end redraw does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import Tensor

from sscl_core import component, hookimpl, param
from sscl_core.api.memory import MemoryPool, Samples
from sscl_core.library.slot_pool import SlotPool, reservoir_slot
from sscl_plugin_edgehml.disk_store import DiskStore

SAMPLE_KEYS = ("x", "y", "task_id", "index")
"""The keys every tier stores."""


@component
class _LabeledTier(SlotPool):
    """M_L: reservoir sampling over the distinct labeled samples; calls ``before_grow`` before it takes a new
    slot (so the pool can free room in M_U first)."""

    name = "hml-labeled-tier"

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.seen = 0
        self.before_grow: Callable[[torch.Generator], None] = lambda generator: None

    def choose_slot(self, sample: dict[str, Tensor], generator: torch.Generator) -> int | None:
        """The reservoir's slot for the next distinct sample."""
        self.seen += 1
        slot = reservoir_slot(self.seen, self.size, generator)
        if slot is not None and slot == self.count:
            self.before_grow(generator)
        return slot

    def _write(self, slot: int, sample: dict[str, Tensor]) -> None:
        """Store ``sample`` in ``slot``, growing the tensors (by an eighth, at least 8 rows, at most to ``size``)
        instead of preallocating all ``size`` rows: the room M_L leaves belongs to M_U, so RAM holds about S rows
        in all."""
        held = len(self.storage["y"]) if self.storage else 0
        if slot >= held:
            rows = min(self.size, max(slot + 1, held + max(8, held // 8)))
            grown = {k: torch.zeros((rows, *v.shape), dtype=v.dtype) for k, v in sample.items()}
            for k, v in self.storage.items():
                grown[k][:held] = v
            self.storage = grown
        for k, v in sample.items():
            self.storage[k][slot] = v.detach().cpu()
        self.count = max(self.count, slot + 1)

    def extra_state(self) -> dict[str, Any]:
        """The number of distinct samples offered."""
        return {"seen": self.seen}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore the number of distinct samples offered."""
        self.seen = int(state["seen"])


def _share(_instance: Any, attribute: Any, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{attribute.name} must be a fraction in [0, 1) of the RAM budget, got {value!r}")


def _class_weights(counts: Tensor, losses: Tensor, total: int) -> Tensor:
    """w(c) = (total / n_c) * (l_c / sum l): inverse frequency times the class's share of the loss."""
    if losses.sum() <= 0:
        losses = torch.ones_like(losses)
    return (total / counts.double()) * (losses / losses.sum())


@component
class HierarchicalMemoryPool(MemoryPool):
    """EdgeHML's pool: M_L (labeled, RAM), D_U (pseudo-labeled, disk) and M_U (pseudo-labeled, RAM).

    ``add`` offers labeled samples to M_L by reservoir sampling (each (task_id, index) once with ``dedup``),
    so replay methods such as er or der can use the pool as is. ``add_pseudo`` offers pseudo-labeled samples
    to the disk tier D_U of ``disk_size`` samples, also by reservoir. ``refresh_pseudo`` (at a task end)
    replaces M_U by a weighted draw from D_U. ``size`` bounds M_L and M_U together: while M_L grows, each new
    labeled sample evicts a random M_U sample once the budget is full. The disk files live in ``ctx.pool_dir``.
    """

    name = "hml"
    disk_size: int = param(2000, help="samples in the pseudo-labeled disk tier D_U", validator=attrs.validators.ge(0))
    shard_samples: int = param(
        256, help="images per shard file of the disk tier and in its RAM write buffer", validator=attrs.validators.ge(1)
    )
    dedup: bool = param(True, help="count each (task_id, index) once in the reservoirs of M_L and D_U")
    pseudo_share: float = param(
        0.0,
        help="fraction of size kept for M_U: M_L holds at most size - round(pseudo_share * size) labeled samples "
        "(0: M_L may take the whole budget)",
        validator=_share,
    )

    def __attrs_post_init__(self) -> None:
        self._labeled = _LabeledTier(size=self.size - round(self.pseudo_share * self.size), dedup=self.dedup)
        self._labeled.before_grow = self._make_room
        self._disk = DiskStore(self.disk_size, self.shard_samples, dedup=self.dedup)
        self._pseudo: Samples = {}
        self._pseudo_seen = 0
        self._pseudo_keys: set[tuple[int, int]] = set()

    @hookimpl
    def before_run(self, ctx: Any) -> None:
        """Keep the disk tier in ``ctx.pool_dir``."""
        self.attach(ctx.pool_dir)

    def attach(self, directory: Path) -> None:
        """Keep the disk tier's files in ``directory``."""
        self._disk.attach(directory)

    def add(self, samples: Samples, generator: torch.Generator) -> None:
        """Offer labeled samples to M_L (extra keys such as ``logits`` are kept beside them)."""
        self._labeled.add(samples, generator)

    def add_pseudo(self, samples: Samples, generator: torch.Generator) -> None:
        """Offer pseudo-labeled samples (pseudo-label in ``y``, uint8 ``x``) to the disk tier D_U (to M_U when
        there is no disk tier)."""
        if self.disk_size > 0:
            self._disk.offer(samples, generator)
            return
        for row, key in enumerate(zip(samples["task_id"].tolist(), samples["index"].tolist(), strict=True)):
            if self.dedup and key in self._pseudo_keys:
                continue
            self._pseudo_keys.add(key)
            self._pseudo_seen += 1
            slot = reservoir_slot(self._pseudo_seen, self.size - len(self._labeled), generator)
            if slot is not None:
                self._put_pseudo(slot, {k: samples[k][row : row + 1] for k in SAMPLE_KEYS})

    def _put_pseudo(self, slot: int, sample: Samples) -> None:
        held = self.pseudo_ram_len()
        if slot >= held:
            self._pseudo = {k: torch.cat([self._pseudo[k], v]) for k, v in sample.items()} if held else sample
        else:
            for k, v in sample.items():
                self._pseudo[k][slot] = v[0]

    def _make_room(self, generator: torch.Generator) -> None:
        """Evict a random M_U sample when M_L is about to grow into a full budget."""
        held = self.pseudo_ram_len()
        if held and len(self._labeled) + held >= self.size:
            drop = int(torch.randint(0, held, (1,), generator=generator))
            keep = torch.arange(held) != drop
            self._pseudo = {k: v[keep] for k, v in self._pseudo.items()}

    def refresh_pseudo(self, class_losses: dict[int, float], generator: torch.Generator) -> None:
        """Replace M_U by n = min(|D_U|, size - |M_L|) samples of D_U drawn without replacement, sample i of
        pseudo-class c with weight (|D_U| / n_c) * (l_c / sum l), l_c = ``class_losses[c]``.

        A class missing from ``class_losses`` gets the mean of the given losses; with no losses given, or all
        zero, every class gets the same l_c. Once the samples of positive weight run out, the rest of the n are
        drawn uniformly.
        """
        bad = {c: v for c, v in class_losses.items() if not (v >= 0.0 and v != float("inf"))}
        if bad:
            raise ValueError(f"class losses must be finite and non-negative, got {bad}")
        if self.disk_size == 0:
            return
        total = len(self._disk)
        n = min(total, self.size - len(self._labeled))
        if n <= 0:
            self._pseudo = {}
            return
        labels = self._disk.metadata()["y"]
        classes, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
        default = sum(class_losses.values()) / len(class_losses) if class_losses else 1.0
        losses = torch.tensor([float(class_losses.get(c, default)) for c in classes.tolist()], dtype=torch.float64)
        weights = _class_weights(counts, losses, total)[inverse]
        positive = int(torch.count_nonzero(weights))
        chosen = torch.multinomial(weights, min(n, positive), replacement=False, generator=generator)
        if len(chosen) < n:
            rest = torch.nonzero(weights == 0).flatten()
            extra = rest[torch.randperm(len(rest), generator=generator)[: n - len(chosen)]]
            chosen = torch.cat([chosen, extra])
        self._pseudo = self._disk.read(chosen)

    def sample(self, n: int, generator: torch.Generator) -> Samples | None:
        """Up to ``n`` samples drawn uniformly without replacement from M_L and M_U together.

        The keys are those every non-empty tier has: with M_U empty, all of M_L's keys (e.g. DER's ``logits``);
        otherwise ``x``, ``y``, ``task_id`` and ``index``.
        """
        labeled, held = self._labeled_view(), self.pseudo_ram_len()
        first = len(self._labeled)
        total = first + held
        if total == 0:
            return None
        picked = torch.randperm(total, generator=generator)[: min(n, total)]
        if held == 0:
            return {k: v[picked] for k, v in labeled.items()}
        if first == 0:
            return {k: v[picked] for k, v in self._pseudo.items()}
        from_labeled = picked < first
        out = {}
        for key in SAMPLE_KEYS:
            a, b = labeled[key], self._pseudo[key]
            values = torch.empty((len(picked), *a.shape[1:]), dtype=a.dtype)
            values[from_labeled] = a[picked[from_labeled]]
            values[~from_labeled] = b[picked[~from_labeled] - first]
            out[key] = values
        return out

    def sample_labeled(self, n: int, generator: torch.Generator) -> Samples | None:
        """Up to ``n`` samples of M_L drawn without replacement (all its keys), or None while it is empty."""
        return self._labeled.sample(n, generator)

    def sample_pseudo(self, n: int, generator: torch.Generator) -> Samples | None:
        """Up to ``n`` samples of M_U drawn without replacement, or None while it is empty."""
        held = self.pseudo_ram_len()
        if held == 0:
            return None
        picked = torch.randperm(held, generator=generator)[: min(n, held)]
        return {k: v[picked] for k, v in self._pseudo.items()}

    def labeled_samples(self) -> Samples | None:
        """All of M_L, slot by slot, or None while it is empty."""
        return self._labeled_view() if len(self._labeled) else None

    def _labeled_view(self) -> Samples:
        return {k: v[: len(self._labeled)] for k, v in self._labeled.storage.items()}

    def labeled_class_counts(self) -> dict[int, int]:
        """Samples of M_L per class."""
        classes, counts = torch.unique(self._labeled.labels(), return_counts=True)
        return dict(zip(classes.tolist(), counts.tolist(), strict=True))

    def pseudo_contents(self) -> dict[str, Any]:
        """What the pseudo-labeled tiers hold: |M_L|, |M_U|, M_U's samples per pseudo-class and per task, its
        samples as (task_id, index, pseudo-label), and |D_U| with its samples per pseudo-class and per task."""

        def counts(values: Tensor) -> dict[int, int]:
            found, number = torch.unique(values, return_counts=True)
            return dict(zip(found.tolist(), number.tolist(), strict=True))

        held = self._pseudo if self._pseudo else {k: torch.zeros(0, dtype=torch.long) for k in SAMPLE_KEYS}
        empty = torch.zeros(0, dtype=torch.long)
        disk = self._disk.metadata() if len(self._disk) else {"y": empty, "task_id": empty}
        return {
            "labeled": len(self._labeled),
            "pseudo_ram": self.pseudo_ram_len(),
            "pseudo_ram_per_class": counts(held["y"]),
            "pseudo_ram_per_task": counts(held["task_id"]),
            "pseudo_ram_samples": torch.stack([held["task_id"], held["index"], held["y"]], dim=1).tolist(),
            "disk": len(self._disk),
            "disk_per_class": counts(disk["y"]),
            "disk_per_task": counts(disk["task_id"]),
        }

    def pseudo_ram_len(self) -> int:
        """Samples in M_U."""
        return len(self._pseudo["y"]) if self._pseudo else 0

    def disk_len(self) -> int:
        """Samples in the disk tier D_U."""
        return len(self._disk)

    def __len__(self) -> int:
        """Samples held in RAM: |M_L| + |M_U|."""
        return len(self._labeled) + self.pseudo_ram_len()

    def ram_bytes(self) -> int:
        """Bytes of M_L's tensors (grown as it fills), M_U's tensors and the disk tier's write buffer."""
        pseudo = sum(v.numel() * v.element_size() for v in self._pseudo.values())
        return self._labeled.ram_bytes() + pseudo + self._disk.buffer_bytes()

    def disk_bytes(self) -> int:
        """Bytes of the disk tier's shard files."""
        return self._disk.disk_bytes() if self._disk.directory is not None else 0

    def disk_files(self) -> list[Path]:
        """The disk tier's shard files."""
        return self._disk.files()

    def max_disk_bytes(self) -> int | None:
        """The disk tier's bound (None while the pool has no folder, and so no files)."""
        return self._disk.max_disk_bytes() if self._disk.directory is not None else None

    def state_dict(self) -> dict[str, Any]:
        """All three tiers (the disk tier's files named relative to its folder)."""
        keys = torch.tensor(sorted(self._pseudo_keys), dtype=torch.long).reshape(-1, 2)
        return {
            "labeled": self._labeled.state_dict(),
            "pseudo": dict(self._pseudo),
            "disk": self._disk.state_dict(),
            "pseudo_seen": self._pseudo_seen,
            "pseudo_keys": keys,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (the folder already holds the disk tier's files)."""
        self._labeled.load_state_dict(state["labeled"])
        self._pseudo = {k: v.clone() for k, v in state["pseudo"].items()}
        self._disk.load_state_dict(state["disk"])
        self._pseudo_seen = int(state["pseudo_seen"])
        self._pseudo_keys = {(int(a), int(b)) for a, b in state["pseudo_keys"].tolist()}
