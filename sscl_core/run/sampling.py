"""Drawing the labeled and unlabeled samples of each iteration and turning them into a SemiBatch."""

import torch
from torch import Tensor

from sscl_core.api.batch import SemiBatch
from sscl_core.api.errors import SsclError
from sscl_core.api.samples import take, to_device
from sscl_core.api.task import BatchTransforms, Task


class CyclicSampler:
    """Endless indices into ``0..n-1``: a fresh random permutation each pass, so every sample comes up
    once per pass."""

    def __init__(self, n: int, generator: torch.Generator) -> None:
        self.n = n
        self.generator = generator
        self._order = torch.zeros(0, dtype=torch.long)
        self._pos = 0

    def next(self, k: int) -> Tensor:
        """The next ``k`` indices."""
        out = []
        while k > 0:
            if self._pos >= len(self._order):
                self._order = torch.randperm(self.n, generator=self.generator)
                self._pos = 0
            take = self._order[self._pos : self._pos + k]
            self._pos += len(take)
            k -= len(take)
            out.append(take)
        return torch.cat(out)


class BatchBuilder:
    """Builds the SemiBatch of each iteration of one task; unlabeled views only when asked for."""

    def __init__(
        self,
        task: Task,
        transforms: BatchTransforms,
        batch_size: int,
        uratio: int,
        device: torch.device,
        generator: torch.Generator,
    ) -> None:
        if len(task.labeled_index) == 0:
            raise SsclError(f"task {task.id} has no labeled samples: give each class at least one label")
        self.task = task
        self.transforms = transforms
        self.batch_size = batch_size
        self.unlabeled_size = batch_size * uratio
        self.device = device
        self.generator = generator
        self.labeled = CyclicSampler(len(task.labeled_index), generator)
        self.unlabeled = CyclicSampler(len(task), generator)

    def next(self, views: tuple[str, ...]) -> SemiBatch:
        """The next batch, with the unlabeled ``views`` ("weak", "strong") the method asked for."""
        task, gen = self.task, self.generator
        index = task.labeled_index[self.labeled.next(self.batch_size)]
        x_raw = take(task.train_x, index)
        batch = SemiBatch(
            x=self.transforms.weak(to_device(x_raw, self.device), gen),
            y=to_device(take(task.oracle_y, index), self.device),
            index=index,
            task_id=task.id,
            x_raw=x_raw,
        )
        if views:
            u_index = self.unlabeled.next(self.unlabeled_size)
            u_raw = take(task.train_x, u_index)
            u_dev = to_device(u_raw, self.device)
            batch.u_index, batch.u_raw = u_index, u_raw
            if "weak" in views:
                batch.u_weak = self.transforms.weak(u_dev, gen)
            if "strong" in views:
                batch.u_strong = self.transforms.strong(u_dev, gen)
        return batch
