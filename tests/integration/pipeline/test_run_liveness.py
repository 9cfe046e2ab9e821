"""Which STARTED runs are dead, given what the instance recorded and a process table."""

import os
import subprocess
import sys
import time

from f1_pipeline.run_liveness import Process, RecordedProcess, RunProcesses, local_process, why_dead

HERE = "laptop"
STARTED = 1_000_000.0
ORCHESTRATOR = RecordedProcess(42, STARTED)
STEP = RecordedProcess(43, STARTED + 10)


def table(**processes: Process):
    return lambda pid: processes.get(f"p{pid}")


def run(orchestrator: RecordedProcess | None = ORCHESTRATOR, host: str | None = HERE) -> RunProcesses:
    return RunProcesses("run-1", orchestrator, (STEP,), host)


def test_a_run_whose_processes_are_gone_is_dead():
    assert "pid 42 on laptop" in why_dead(run(), HERE, False, table())


def test_pids_reused_by_newer_programs_do_not_keep_a_run_alive():
    assert why_dead(run(), HERE, False, table(p42=Process(STARTED + 60), p43=Process(STARTED + 60))) is not None


def test_a_run_whose_orchestrator_or_an_orphaned_step_lives_is_left_alone():
    assert why_dead(run(), HERE, False, table(p42=Process(STARTED - 5))) is None
    assert why_dead(run(), HERE, False, table(p42=Process(STARTED + 1))) is None  # clock granularity
    assert why_dead(run(), HERE, False, table(p42=Process(None))) is None  # alive, start time unreadable
    assert why_dead(run(), HERE, False, table(p43=Process(STARTED + 9))) is None  # its step still holds resources


def test_runs_of_other_hosts_or_without_a_pid_are_never_judged():
    assert why_dead(run(host="server"), HERE, True, table()) is None
    assert why_dead(run(orchestrator=None), HERE, True, table()) is None
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
