"""Which STARTED runs are dead, given what the instance recorded and a process table."""

import os
import subprocess
import sys
import time

from f1_pipeline.run_liveness import Process, RunProcess, local_process, why_dead

HERE = "laptop"
STARTED = 1_000_000.0


def table(**processes: Process):
    return lambda pid: processes.get(f"p{pid}")


def run(pid: int | None = 42, host: str | None = HERE) -> RunProcess:
    return RunProcess("run-1", pid, host, STARTED)


def test_a_run_whose_process_is_gone_is_dead():
    assert "pid 42 on laptop" in why_dead(run(), HERE, False, table())


def test_a_run_whose_pid_now_belongs_to_a_newer_program_is_dead():
    reason = why_dead(run(), HERE, False, table(p42=Process(STARTED + 60)))
    assert "another program" in reason


def test_a_run_whose_process_lives_is_left_alone():
    assert why_dead(run(), HERE, False, table(p42=Process(STARTED - 5))) is None
    assert why_dead(run(), HERE, False, table(p42=Process(STARTED + 1))) is None  # clock granularity
    assert why_dead(run(), HERE, False, table(p42=Process(None))) is None  # alive, start time unreadable


def test_runs_of_other_hosts_or_without_a_pid_are_never_judged():
    assert why_dead(run(host="server"), HERE, True, table()) is None
    assert why_dead(run(pid=None), HERE, True, table()) is None
    assert why_dead(run(host=None), HERE, False, table()) is None  # shared storage: the run may be elsewhere
    assert why_dead(run(host=None), HERE, True, table()) is not None  # local SQLite storage: it ran here


def test_the_real_process_table_knows_a_live_a_killed_and_a_reaped_process():
    assert local_process(os.getpid()).started_at <= time.time()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert local_process(child.pid) is not None
    child.kill()
    time.sleep(0.5)
    assert local_process(child.pid) is None  # a zombie: killed, not yet collected by its parent
    child.wait()
    assert local_process(child.pid) is None
