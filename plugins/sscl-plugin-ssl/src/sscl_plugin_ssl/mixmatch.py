"""MixMatch: sharpened guesses averaged over augmentations, MixUp with labeled and unlabeled samples, squared error."""

from __future__ import annotations

import math

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from sscl_core import RunContext, SemiBatch, UnlabeledLoss, component, param
from sscl_core.library.pseudo_labels import predict_without_grad
from sscl_plugin_ssl.targets import sharpen

_INHERITED = attrs.fields_dict(UnlabeledLoss)


def _uniform_open_at_zero(generator: torch.Generator) -> float:
    """A uniform number in (0, 1] drawn with ``generator`` (never 0, so its logarithm is finite)."""
    return 1.0 - torch.rand((), generator=generator, dtype=torch.float64).item()


def sample_gamma(shape: float, generator: torch.Generator) -> float:
    """One draw of Gamma(``shape``, 1), made only with ``generator``'s draws (deterministic given its state).

    Marsaglia and Tsang's (2000) rejection method (without its optional squeeze) for ``shape >= 1``, which
    accepts more than 95% of its normal draws; for ``shape < 1`` a Gamma(shape + 1) draw times U^(1 / shape),
    U uniform.
    ``torch.distributions`` cannot sample from a given generator, hence this sampler.
    """
    if shape <= 0:
        raise ValueError(f"the shape of a Gamma distribution must be positive, got {shape!r}")
    if shape < 1.0:
        return sample_gamma(shape + 1.0, generator) * _uniform_open_at_zero(generator) ** (1.0 / shape)
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = torch.randn((), generator=generator, dtype=torch.float64).item()
        v = (1.0 + c * x) ** 3
        if v <= 0.0:
            continue
        if math.log(_uniform_open_at_zero(generator)) < 0.5 * x * x + d - d * v + d * math.log(v):
            return d * v


def mixup_lambda(alpha: float, generator: torch.Generator) -> float:
    """MixMatch's mixing weight lambda' = max(lambda, 1 - lambda) with lambda ~ Beta(alpha, alpha), drawn with
    ``generator`` as G1 / (G1 + G2) of two independent Gamma(alpha) draws; always at least 0.5."""
    first, second = sample_gamma(alpha, generator), sample_gamma(alpha, generator)
    lam = first / (first + second)
    return max(lam, 1.0 - lam)


def guess_targets(view_probs: Tensor, temperature: float) -> Tensor:
    """The guessed label distributions: the mean over the K views of ``view_probs`` (K, N, C), sharpened with
    ``temperature`` (each row raised to 1 / temperature and renormalized)."""
    return sharpen(view_probs.mean(dim=0), temperature)


def mix_unlabeled(
    labeled_x: Tensor, labeled_p: Tensor, unlabeled_x: Tensor, unlabeled_p: Tensor, lam: float, permutation: Tensor
) -> tuple[Tensor, Tensor]:
    """MixMatch's U': the unlabeled inputs and targets mixed with their partners in the shuffled pool.

    The pool W is ``concat(labeled, unlabeled)`` reordered by ``permutation``; the i-th unlabeled sample is mixed
    with W[len(labeled) + i] as ``lam * unlabeled + (1 - lam) * partner``, inputs and targets alike.
    """
    pool_x = torch.cat([labeled_x, unlabeled_x])[permutation]
    pool_p = torch.cat([labeled_p, unlabeled_p])[permutation]
    partners_x, partners_p = pool_x[len(labeled_x) :], pool_p[len(labeled_x) :]
    return lam * unlabeled_x + (1.0 - lam) * partners_x, lam * unlabeled_p + (1.0 - lam) * partners_p


def mixmatch_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """The squared error between ``softmax(logits)`` and ``targets``, averaged over rows and classes (the
    paper's L_U, whose sum is divided by the number of classes)."""
    return ((torch.softmax(logits, dim=1) - targets) ** 2).mean()


@component
class MixMatch(UnlabeledLoss):
    """MixMatch (Berthelot et al., 2019): MixUp of guessed and true labels, squared error on the unlabeled part.

    The guess for each unlabeled image is the mean of the model's softmax over ``augmentations`` (K) weak views
    (``u_weak`` and K - 1 fresh ones of ``u_raw``), under no-grad, sharpened with ``temperature``. The pool W is
    a shuffle of the labeled batch (one-hot labels over all classes) and the K unlabeled views (with their
    guesses); each unlabeled view is mixed with the W entry after the labeled ones at its position, with weight
    lambda' = max(lambda, 1 - lambda), lambda ~ Beta(``mixup_alpha``, ``mixup_alpha``) drawn once per batch
    from the run's generator (:func:`mixup_lambda`). The loss ``mixmatch`` is the squared error between the
    model's softmax on the mixed inputs and the mixed targets, averaged over rows and classes.

    Deviations from the paper: its labeled term (cross-entropy on the mixed labeled samples X') is left out;
    the run's method computes its own labeled cross-entropy on the unmixed labeled batch, to which the trainer
    adds this loss. Only the mixed unlabeled batch goes through the model, so batch-norm statistics see no mixed
    labeled samples (the paper's code interleaves both). Defaults from the paper: K 2, T 0.5, alpha 0.75 and
    lambda_u (``weight``) 75, its CIFAR-10 value. The paper ramps lambda_u linearly over its first 16k of 1M
    iterations; tasks here last hundreds of iterations, so the weight rises over the first 40% of each task
    (``ramp`` 0.4, our choice).
    """

    name = "mixmatch"
    views = ("weak",)
    weight: float = param(75.0, help=_INHERITED["weight"].metadata["help"], validator=_INHERITED["weight"].validator)
    ramp: float = param(0.4, help=_INHERITED["ramp"].metadata["help"], validator=_INHERITED["ramp"].validator)
    augmentations: int = param(
        2, help="weak views (K) averaged for each unlabeled image's guessed label", validator=attrs.validators.ge(1)
    )
    temperature: float = param(
        0.5, help="sharpening temperature of the guessed labels (T)", validator=attrs.validators.gt(0.0)
    )
    mixup_alpha: float = param(
        0.75, help="parameter alpha of the Beta(alpha, alpha) MixUp weight", validator=attrs.validators.gt(0.0)
    )

    def guess(self, batch: SemiBatch, ctx: RunContext) -> tuple[list[Tensor], Tensor]:
        """The K weak views of the unlabeled batch (``u_weak`` first) and their sharpened mean prediction."""
        raw = batch.u_raw.to(ctx.device)
        views = [batch.u_weak] + [ctx.stream.transforms.weak(raw, ctx.generator) for _ in range(self.augmentations - 1)]
        probs = torch.stack([predict_without_grad(ctx, view) for view in views])
        return views, guess_targets(probs, self.temperature)

    def losses(self, batch: SemiBatch, ctx: RunContext) -> dict[str, Tensor]:
        """The squared error of the model's prediction on the mixed unlabeled views against their mixed targets."""
        views, targets = self.guess(batch, ctx)
        labeled_p = F.one_hot(batch.y, ctx.stream.num_classes).to(targets.dtype)
        lam = mixup_lambda(self.mixup_alpha, ctx.generator)
        permutation = torch.randperm(len(batch.x) + len(views) * len(targets), generator=ctx.generator)
        mixed_x, mixed_p = mix_unlabeled(
            batch.x, labeled_p, torch.cat(views), targets.repeat(len(views), 1), lam, permutation.to(ctx.device)
        )
        return {self.name: mixmatch_loss(ctx.model(mixed_x), mixed_p)}
