"""Which float kernels this machine's torch runs: recorded beside reference accuracy matrices, since the same code
and seed give other matrices on a processor whose kernels round differently (e.g. AVX2 against AVX-512)."""

import hashlib

import torch


def kernels_fingerprint() -> str:
    """A short hash of the gradients of a seeded convolution, linear layer and cross-entropy on one torch thread:
    equal on two machines when their kernels give bit-identical training steps."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(16, 3, 12, 12, generator=gen)
        conv = torch.randn(8, 3, 3, 3, generator=gen, requires_grad=True)
        linear = torch.randn(10, 8 * 10 * 10, generator=gen, requires_grad=True)
        hidden = torch.nn.functional.conv2d(x, conv).relu().flatten(1)
        loss = torch.nn.functional.cross_entropy(hidden @ linear.t(), torch.arange(16) % 10)
        loss.backward()
    finally:
        torch.set_num_threads(threads)
    digest = hashlib.sha256(conv.grad.numpy().tobytes() + linear.grad.numpy().tobytes())
    return digest.hexdigest()[:16]
