"""The engine supervisor, on real child processes that die the ways vLLM does."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from hrstack.server.launcher import stop_engine
from hrstack.server.supervisor import EngineSupervisor, OutputTail, exit_reason

CRASH = (
    "import sys; print('INFO engine step', flush=True); "
    "print('RuntimeError: CPU Generator does not use offset', flush=True); sys.exit(1)"
)


def _spawner(code: str, starts: list[subprocess.Popen[bytes]]):
    def spawn() -> tuple[subprocess.Popen[bytes], OutputTail]:
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        starts.append(proc)
        assert proc.stdout is not None
        return proc, OutputTail(proc.stdout, sink=open("/dev/null", "w"))

    return spawn


def _supervisor(code: str, starts: list, restarts: list[str], **kw) -> EngineSupervisor:
    values = {"max_restarts": 3, "window_s": 60.0, "backoff_s": 0.05, "backoff_max_s": 0.2}
    values.update(kw)
    return EngineSupervisor(
        _spawner(code, starts), stop_engine, on_restart=restarts.append, poll_s=0.02, **values
    )


def test_a_dying_engine_is_restarted_then_given_up_on_with_a_nonzero_code(caplog):
    starts: list[subprocess.Popen[bytes]] = []
    restarts: list[str] = []
    supervisor = _supervisor(CRASH, starts, restarts)
    supervisor.start()
    code = asyncio.run(asyncio.wait_for(supervisor.watch(lambda: False), timeout=30))
    assert code == 1
    assert len(starts) == 4  # the first start and 3 restarts; the 4th death gives up
    assert restarts == ["exit_1"] * 3
    assert "CPU Generator does not use offset" in caplog.text
    assert "giving up" in caplog.text


def test_an_engine_that_comes_back_keeps_serving_until_asked_to_stop():
    starts: list[subprocess.Popen[bytes]] = []
    restarts: list[str] = []
    # Dies once (no marker file yet), then stays up.
    code = (
        "import os, sys, time\n"
        f"m = {__file__ + '.marker'!r}\n"
        "if not os.path.exists(m):\n"
        "    open(m, 'w').close(); sys.exit(3)\n"
        "time.sleep(60)\n"
    )
    supervisor = _supervisor(code, starts, restarts)

    async def run() -> int:
        stop = asyncio.Event()
        watch = asyncio.create_task(supervisor.watch(stop.is_set))
        while len(starts) < 2:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        stop.set()
        return await watch

    import os

    marker = __file__ + ".marker"
    if os.path.exists(marker):
        os.remove(marker)
    try:
        supervisor.start()
        assert asyncio.run(asyncio.wait_for(run(), timeout=30)) == 0
        assert restarts == ["exit_3"]
        assert supervisor.proc is not None and supervisor.proc.poll() is None
    finally:
        supervisor.stop()
        if os.path.exists(marker):
            os.remove(marker)
    assert supervisor.proc.poll() is not None


def test_backoff_doubles_within_the_window_and_resets_after_it():
    now = [0.0]
    supervisor = EngineSupervisor(
        lambda: (None, None),  # type: ignore[arg-type, return-value]
        stop_engine,
        max_restarts=5,
        window_s=100.0,
        backoff_s=1.0,
        backoff_max_s=5.0,
        clock=lambda: now[0],
    )
    waits = []
    for _ in range(5):
        reason, give_up = supervisor.record_death(-9)
        assert reason == "signal_SIGKILL" and not give_up
        waits.append(supervisor.backoff())
        now[0] += 1
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert supervisor.record_death(1) == ("exit_1", True)  # the 6th death within 100 s
    now[0] += 500  # a long healthy run: the window forgets old deaths
    assert supervisor.record_death(1) == ("exit_1", False)
    assert supervisor.backoff() == 1.0


@pytest.mark.parametrize(("code", "label"), [(0, "exit_0"), (1, "exit_1"), (-15, "signal_SIGTERM")])
def test_exit_reasons_are_labels(code, label):
    assert exit_reason(code) == label
