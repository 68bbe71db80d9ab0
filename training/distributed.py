"""Data-parallel training: N processes through the launchers TRL is built for, one run's files.

``hrstack train sft|grpo --num-processes N [--accelerate-config configs/accelerate/ddp.yaml]``
re-runs the same stage under a launcher instead of writing our own:

* CPU (no CUDA): ``torch.distributed.run`` (torchrun), N processes on this machine; accelerate
  sees ``LOCAL_RANK`` with ``use_cpu`` and sets up DDP over gloo. (``accelerate launch --cpu``
  spawns one process unless MPI is installed, so it is not used for CPU.)
* GPU: ``accelerate launch`` with a shipped config (``configs/accelerate/``: DDP, FSDP,
  DeepSpeed ZeRO-2/3), or the user's own.

The global batch and learning rate are the config's on any N: the config's ``batch_size x
grad_accum`` (SFT) or ``prompts_per_step x num_generations`` (GRPO) is the batch per optimizer
step over all processes, each process taking ``batch_size / N`` rows (which must divide). So the
learning rate and the schedule mean the same thing on 1 or 8 GPUs, and a run on N processes sees
the same rows per step as one process (accelerate shards each batch sequence across ranks).

What stays on the main process: the generation-based domain check, the gate's decision and its
log, samples, summaries and the merge. The decision is broadcast so every rank agrees whether the
step saves (the Trainer's save path synchronises the ranks; a rank that disagreed would hang).

A run stops as one: the launcher is started through this module (``python -m
hrstack.training.distributed torch.distributed.run ...``), which asks Linux to SIGTERM it when
the CLI exits, and each rank asks for SIGKILL when the launcher exits (``die_with_parent``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

#: prctl(2) option: the signal this process gets when its parent exits.
PR_SET_PDEATHSIG = 1

#: Long enough for the main process's domain check while the others wait (torch's default
#: is 30 min; the field config's 200-prompt check on a 7B model can take longer).
DDP_TIMEOUT_S = 4 * 3600


def world_size() -> int:
    """Processes in this run (torchrun and accelerate both set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def per_process(total: int, field: str, processes: int | None = None) -> int:
    """Rows each process takes so the global batch stays ``total``; refuse an uneven split
    rather than change the batch (and so the meaning of the learning rate) silently."""
    n = processes or world_size()
    if total % n:
        raise ValueError(
            f"{field}={total} cannot be split evenly over {n} processes; the global batch stays "
            f"what the config says, so make {field} a multiple of {n}"
        )
    return total // n


def _initialized() -> bool:
    import torch.distributed as dist

    return bool(dist.is_available() and dist.is_initialized())


def share(value: T) -> T:
    """The main process's ``value`` on every rank (``value`` elsewhere is ignored)."""
    if world_size() == 1 or not _initialized():
        return value
    import torch.distributed as dist

    box: list[Any] = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]  # type: ignore[no-any-return]


def barrier() -> None:
    if world_size() > 1 and _initialized():
        import torch.distributed as dist

        dist.barrier()


@contextmanager
def all_cores() -> Iterator[None]:
    """Let the main process use every core while the other ranks wait for its domain check.

    torchrun gives each CPU process one thread (OMP_NUM_THREADS=1) so N processes share N
    cores; the check runs on the main process alone, with the others blocked in a broadcast."""
    import torch

    before = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if world_size() > 1 and not torch.cuda.is_available() and cores:
        torch.set_num_threads(cores)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def die_with_parent(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent exits; False where it cannot.

    Why: torchrun starts each rank in a session of its own, and a launcher or CLI that is
    SIGKILLed (the OOM killer, a lost supervisor, ``kill -9``) takes nothing with it, so its
    children went on training and writing checkpoints into the run directory, beside the run a
    user restarts there. The launcher asks for SIGTERM (torchrun and accelerate stop their ranks
    on it), a rank for SIGKILL (it may be blocked in a collective, where no handler runs)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        return False
    if os.getppid() != parent:  # the parent exited before the request took effect
        os.kill(os.getpid(), sig)
    return True


def follow_launcher() -> None:
    """In a launched rank: stop (SIGKILL) if the launcher exits, whatever way it does."""
    if die_with_parent(signal.SIGKILL):
        log.info("rank %d of %d stops if its launcher (pid %d) exits", rank(), world_size(),
                 os.getppid())  # fmt: skip


def launch_command(
    stage: str, args: list[str], processes: int, accelerate_config: Path | None, cuda: bool
) -> list[str]:
    """The launcher command that runs ``hrstack train <stage> <args>`` on ``processes``."""
    module = ["-m", "hrstack.server.cli", "train", stage, *args]
    if accelerate_config is None and not cuda:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1",
                f"--nproc-per-node={processes}", *module]  # fmt: skip
    launch = [sys.executable, "-m", "accelerate.commands.launch"]
    if accelerate_config is not None:
        launch += ["--config_file", str(accelerate_config)]
    else:
        launch += ["--multi_gpu"]
    return [*launch, "--num_processes", str(processes), *module]


def launch(stage: str, args: list[str], processes: int, accelerate_config: Path | None) -> int:
    """Run the stage under the launcher and return its exit status."""
    import subprocess

    import torch

    if accelerate_config is not None and not accelerate_config.is_file():
        raise FileNotFoundError(f"--accelerate-config {accelerate_config}: no such file")
    command = launch_command(stage, args, processes, accelerate_config, torch.cuda.is_available())
    env = dict(os.environ)
    if not torch.cuda.is_available():
        env.setdefault("OMP_NUM_THREADS", "1")  # N processes on N cores, one thread each
    log.info("launching: %s", " ".join(command))
    # [python, -m, launcher, ...] -> [python, -m, this module, launcher, ...]: see _run_launcher
    return subprocess.call([*command[:2], "hrstack.training.distributed", *command[2:]], env=env)


def _run_launcher(argv: list[str]) -> None:
    """``python -m hrstack.training.distributed MODULE ARGS`` runs ``python -m MODULE ARGS``
    (torchrun or accelerate launch) in this process, set to get SIGTERM when the CLI exits."""
    import runpy

    die_with_parent(signal.SIGTERM)
    sys.argv = list(argv)  # runpy sets argv[0] to the module's path, as python -m does
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    _run_launcher(sys.argv[1:])
