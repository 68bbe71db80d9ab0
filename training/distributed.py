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
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

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
    return subprocess.call(command, env=env)
