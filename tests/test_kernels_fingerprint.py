"""The kit's kernels fingerprint: the same on one machine, another where torch runs other float kernels."""

import os
import platform
import subprocess
import sys

import pytest

from sscl_core.testing import kernels_fingerprint

PRINT = "from sscl_core.testing import kernels_fingerprint; print(kernels_fingerprint())"


def fingerprint_with(**env: str) -> str:
    """The fingerprint a fresh interpreter computes with ``env`` added to this one's environment."""
    done = subprocess.run([sys.executable, "-c", PRINT], env={**os.environ, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the vector-kernel switches below are x86-64's")
def test_the_fingerprint_is_stable_and_changes_with_the_kernels_torch_runs():
    here = kernels_fingerprint()
    assert len(here) == 16 and kernels_fingerprint() == here
    assert fingerprint_with() == here
    assert fingerprint_with(ATEN_CPU_CAPABILITY="default", ONEDNN_MAX_CPU_ISA="SSE41") != here
