"""The Ray executor of ``sscl bench`` (``--executor ray``, extra ``sscl-plugin-bench[ray]``).

Every run is one Ray task taking the protocol's resources (``num_cpus``, also the run's torch threads, so a run
repeats the local executor's numbers at the same thread count; ``num_gpus``). The task calls the run's
``main`` (``sscl run`` or the hand-written loop) in a fresh worker process (one task per worker, so peak RSS
is the run's own) and writes the run directory under OUT, which every node must see: the bench checks that on
every node before the first run. A task whose worker dies is retried (:data:`RETRIES` times) and the retry
resumes the run from its last checkpoint (:meth:`~sscl_plugin_bench.plan.PlannedRun.argv_now`). Ctrl-C cancels
the outstanding tasks; finished runs stay, and the same bench into the same OUT resumes the rest. Without
``--address`` the bench starts a Ray instance on this machine (or uses the one this process already joined).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import shlex
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sscl_core.api.errors import SsclError
from sscl_plugin_bench.plan import Outcome, PlannedRun
from sscl_plugin_bench.protocol import Resources
from sscl_plugin_bench.runner import TOKEN_FILE

RETRIES = 3
"""How often Ray starts a run again whose worker died (each retry resumes from the last checkpoint)."""
INSTALL_LINE = "--executor ray needs Ray, which is not installed: pip install 'sscl-plugin-bench[ray]'"
"""What ``--executor ray`` says without Ray."""
ATTEMPT_PREFIX = "sscl bench: attempt"
"""How a run's log marks the start of each attempt (with the node and the worker's pid)."""
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for the cluster's address to accept a connection."""
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20
"""Object store of a Ray instance the bench starts itself (runs pass only paths and exit codes)."""


def import_ray() -> Any:
    """The ``ray`` module, or the one-line error naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise SsclError(INSTALL_LINE) from None
    return ray


def check_address(address: str) -> None:
    """Refuse, in one line, an address that is malformed or where nothing accepts a connection."""
    if address == "auto":
        return
    try:
        parts = urlsplit(address if "://" in address else f"gcs://{address}")
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None:
        raise SsclError(
            f"--address {address}: expected HOST:PORT (what 'ray start --head' prints), ray://HOST:PORT or auto"
        )
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        raise SsclError(
            f"--address {address}: no Ray cluster answers there ({error.strerror or error}): start one with "
            "'ray start --head' on that node, or leave --address out for a Ray instance on this machine"
        ) from None


def run_in_worker(run: PlannedRun, threads: int) -> Outcome:
    """A Ray task's body: run ``run`` in this worker with ``threads`` torch threads, output into its log."""
    import torch

    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    run.log.parent.mkdir(parents=True, exist_ok=True)
    text = run.log.read_text(encoding="utf-8", errors="replace") if run.log.is_file() else ""
    attempt = text.count(ATTEMPT_PREFIX) + 1
    argv = run.argv_now()
    start = time.perf_counter()
    with run.log.open("a", encoding="utf-8") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        where = f"{socket.gethostname()} (pid {os.getpid()})"
        print(f"{ATTEMPT_PREFIX} {attempt} on {where}: {shlex.join(argv)}", flush=True)
        code = importlib.import_module(run.module).main(argv)
    return Outcome(code=code or 0, seconds=time.perf_counter() - start)


def probe_folder(folder: str, token: str) -> str | None:
    """On one node: None when it sees the bench's OUT (its token file) and can write there, else why not."""
    host, path = socket.gethostname(), Path(folder)
    try:
        seen = (path / TOKEN_FILE).read_text(encoding="utf-8")
    except OSError:
        seen = None
    if seen != token:
        return f"node {host} does not see the folder this machine wrote (a local disk, not a shared file system?)"
    probe = path / "logs" / f".write-check-{host}-{os.getpid()}"
    try:
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as error:
        return f"node {host} cannot write there ({error.strerror or error})"
    return None


class RayExecutor:
    """Runs every planned run as a Ray task on the cluster at ``address`` (None: on this machine; check an
    address with :func:`check_address` first, for a quick one-line refusal)."""

    def __init__(self, resources: Resources, address: str | None, out_dir: Path, token: str) -> None:
        self.ray = import_ray()
        self.resources, self.address, self.out_dir, self.token = resources, address, out_dir, token

    def describe(self) -> str:
        """How the runs are executed, for the bench's first line."""
        where = f"the Ray cluster at {self.address}" if self.address else "Ray on this machine"
        r = self.resources
        return f"on {where}, {r.num_cpus} CPUs (torch threads) and {r.num_gpus:g} GPUs per run"

    def _connect(self) -> bool:
        """Join the cluster (or start a local instance); whether this call started the connection."""
        if self.ray.is_initialized():
            return False
        local = {"include_dashboard": False, "object_store_memory": LOCAL_OBJECT_STORE_BYTES}
        options = {} if self.address else local
        try:
            self.ray.init(address=self.address or "local", log_to_driver=False, logging_level=logging.ERROR, **options)
        except Exception as error:  # Ray raises several kinds for a cluster it cannot join
            where = f"--address {self.address}" if self.address else "a Ray instance on this machine"
            raise SsclError(f"{where}: Ray could not start or connect: {error}".splitlines()[0]) from None
        return True

    def check_shared_folder(self) -> None:
        """Refuse, in one line, an OUT that some node does not see or cannot write."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        probe = self.ray.remote(probe_folder)
        nodes = [node["NodeID"] for node in self.ray.nodes() if node.get("Alive")]
        refs = [
            probe.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(
                str(self.out_dir), self.token
            )
            for node in nodes
        ]
        for problem in self.ray.get(refs):
            if problem is not None:
                raise SsclError(
                    f"--out {self.out_dir}: the Ray workers cannot use it: {problem}; put --out on a file system "
                    "that every node mounts at the same path and can write"
                )

    def _outcome(self, ref: Any) -> Outcome:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.WorkerCrashedError:
            return Outcome(code=-9, seconds=0.0, note=f"its worker died on all {RETRIES + 1} attempts")
        except self.ray.exceptions.RayError as error:
            return Outcome(code=1, seconds=0.0, note=str(error).strip().splitlines()[-1])

    def execute(self, todo: list[PlannedRun], finished: Callable[[PlannedRun, Outcome], None]) -> None:
        """Submit every planned run as a task, report each as it finishes; Ctrl-C cancels the outstanding ones."""
        started = self._connect()
        try:
            self.check_shared_folder()
            task = self.ray.remote(max_calls=1)(run_in_worker).options(
                num_cpus=self.resources.num_cpus, num_gpus=self.resources.num_gpus, max_retries=RETRIES
            )
            runs = {task.remote(run, self.resources.num_cpus): run for run in todo}
            pending = list(runs)
            try:
                while pending:
                    done, pending = self.ray.wait(pending, num_returns=1)
                    for ref in done:
                        finished(runs[ref], self._outcome(ref))
            except KeyboardInterrupt:
                for ref in pending:
                    self.ray.cancel(ref, force=True)
                print(
                    f"sscl bench: cancelled {len(pending)} outstanding runs; finished ones are kept: bench into "
                    f"--out {self.out_dir} again to resume the rest",
                    file=sys.stderr,
                )
                raise
        finally:
            if started:
                self.ray.shutdown()
