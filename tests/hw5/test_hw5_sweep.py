"""Sweeps on Dask (``--jobs``, ``--cluster``): tiny synthetic runs on clusters started on 127.0.0.1.

The end-to-end tests run ``python -m hw5`` as a user would, in fresh processes;
the rest check the pieces (cluster addresses, thread shares, retries' options,
the storage check, the progress lines) without a cluster.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from hw5.cli import build_parser, main
from hw5.cluster import ClusterError, ClusterSpec, parse_cluster
from hw5.process import blas_threads, child_environment, usable_cores
from hw5.runfiles import RunFiles

psutil = pytest.importorskip("psutil")  # a dependency of distributed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--dataset", "synthetic", "--set", "train_size=200", "--set", "test_size=100",
        "--set", "eval_batch_size=100", "--batch-size", "10", "--quiet"]
TIME_FIELDS = ("time", "train_time", "elapsed")


def environment(**changes: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    env.update(changes)
    return env


def hw5(*args: str, timeout: float = 180, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hw5", *args], capture_output=True, text=True, timeout=timeout,
                          env=env or environment(), cwd=REPO)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def epochs_recorded(runs: str, name: str) -> list[int]:
    return [r["epoch"] for r in RunFiles(runs, name).records() if r.get("type") == "epoch"]


def without_time(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIME_FIELDS} for r in records]


def training_processes(runs: str) -> list:
    """The live ``python -m hw5 run NAME`` processes that train into ``runs`` (not a sweep's driver)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmd = proc.info["cmdline"] or []
        if runs in cmd and "hw5" in cmd and "--cluster" not in cmd and "--jobs" not in cmd \
                and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def wait_for(condition, what: str, timeout: float = 90, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the sweep ended before {what}:\n{proc.stdout.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


# ------------------------------------------------------------- end to end
def test_jobs_sweep_on_a_local_cluster_with_each_childs_threads_pinned(tmp_path):
    runs = str(tmp_path / "runs")
    cores = usable_cores()
    share = max(1, cores // 2)
    # the driver's environment asks for all cores for numba and two BLAS threads: each child must get its share
    env = environment(NUMBA_NUM_THREADS=str(cores), OPENBLAS_NUM_THREADS="2")
    result = hw5("run", "fig1a", "fig1b", "--epochs", "2", "--jobs", "2", "--runs-dir", runs, *TINY, env=env)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "local Dask cluster of 2 single-threaded worker processes" in out and "Traceback" not in out
    for name in ("fig1a", "fig1b"):
        assert re.search(rf"started +{name}", out) and re.search(rf"done +{name}", out)
        assert epochs_recorded(runs, name) == [1, 2]
        log = open(RunFiles(runs, name).path("train.log")).read()
        threads = re.search(r"threads: numba (\d+), BLAS (\d+)", log)
        assert threads, log
        assert (int(threads[1]), int(threads[2])) == (share, min(2, share))
    assert not [n for n in os.listdir(runs) if n.startswith(".sweep-")]   # the sweep's markers are cleaned up


class DaskCluster:
    def __init__(self, address: str, scheduler: subprocess.Popen) -> None:
        self.address, self.scheduler = address, scheduler


def test_the_longest_runs_are_submitted_first():
    from hw5.sweep import Sweep
    from hw5.sweep_task import Task

    class Client:
        def __init__(self):
            self.submitted = []

        def submit(self, function, task, key, retries, pure, priority):
            self.submitted.append((task.name, priority))
            return key

    sweep = Sweep.__new__(Sweep)   # only what submit() uses
    sweep.client, sweep.epochs = Client(), {"fig1a": 50, "fig3a": 200, "fig1b": 50, "fig2e": 150}
    sweep.tasks = {name: Task(name, (), "", "", "t", 1) for name in sweep.epochs}
    assert list(sweep.submit()) == ["fig3a", "fig2e", "fig1a", "fig1b"]
    assert sweep.client.submitted == [("fig3a", 200), ("fig2e", 150), ("fig1a", 50), ("fig1b", 50)]


@pytest.fixture
def dask_cluster(tmp_path):
    """An external ``dask scheduler`` and one ``dask worker`` (with its nanny) on 127.0.0.1."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = environment()
    logs = open(tmp_path / "dask.log", "w")
    started = []

    def start(*command: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", *command], stdout=logs, stderr=subprocess.STDOUT,
                                env=env, cwd=str(tmp_path), start_new_session=True)
        started.append(proc)
        return proc

    try:
        scheduler = start("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                          "--no-dashboard")
        start("distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1",
              "--host", "127.0.0.1", "--no-dashboard")
        yield DaskCluster(address, scheduler)
    finally:
        for proc in reversed(started):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(started):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        logs.close()


def test_external_cluster_survives_a_killed_training_process_and_a_killed_worker(tmp_path, dask_cluster):
    runs, reference = str(tmp_path / "runs"), str(tmp_path / "reference")
    args = [*(a.replace("train_size=200", "train_size=400") for a in TINY), "--epochs", "30", "--batch-size", "4"]
    assert main(["run", "fig1a", "--runs-dir", reference, *args]) == 0

    driver = subprocess.Popen([sys.executable, "-m", "hw5", "run", "fig1a", "--cluster", dask_cluster.address,
                               "--runs-dir", runs, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=environment(), cwd=REPO)
    try:
        # 1. the training process dies by SIGKILL after its second epoch: the task is retried and resumes
        wait_for(lambda: len(epochs_recorded(runs, "fig1a")) >= 2, "epoch 2", proc=driver)
        [first] = wait_for(lambda: training_processes(runs), "the training process")
        first.kill()
        second = wait_for(lambda: [p for p in training_processes(runs) if p.pid != first.pid], "the retry")[0]
        # 2. the worker dies by SIGKILL: its training process goes with it, and the task runs again
        resumed_from = len(epochs_recorded(runs, "fig1a"))
        wait_for(lambda: len(epochs_recorded(runs, "fig1a")) >= resumed_from + 2, "the retry's epochs",
                 proc=driver)
        worker = second.parent()
        worker.kill()
        assert wait_for(lambda: not second.is_running() or second.status() == psutil.STATUS_ZOMBIE,
                        "the orphaned training process to die", timeout=10)
        out, _ = driver.communicate(timeout=180)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0, out
    host = socket.gethostname()
    assert f"fig1a on {host} (attempt 2: the training process was killed by SIGKILL; resuming from its" in out, out
    assert f"fig1a on {host} (attempt 3: its worker was lost; resuming from its checkpoint)" in out, out
    assert re.search(r"done +fig1a", out) and "Traceback" not in out
    assert epochs_recorded(runs, "fig1a") == list(range(1, 31))
    assert without_time(RunFiles(runs, "fig1a").records()) == without_time(RunFiles(reference, "fig1a").records())


def test_a_lost_scheduler_is_reported_with_the_command_that_continues(tmp_path, dask_cluster):
    runs = str(tmp_path / "runs")
    driver = subprocess.Popen([sys.executable, "-m", "hw5", "run", "fig1a", "--cluster", dask_cluster.address,
                               "--epochs", "1000", "--runs-dir", runs, *TINY], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=environment(), cwd=REPO)
    try:
        wait_for(lambda: epochs_recorded(runs, "fig1a"), "an epoch", proc=driver)
        os.killpg(dask_cluster.scheduler.pid, signal.SIGKILL)
        out, _ = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 1, out
    assert re.search(r"lost +fig1a \(\d+s\): the connection to the Dask scheduler was lost", out), out
    assert "Continue with:\n    python -m hw5 run fig1a --runs-dir" in out and "Traceback" not in out
    # the worker lost the scheduler too and stopped the run after its checkpoint: the run can go on at once
    # (its lock is free when the driver says so; the process, past its lock, may still be exiting)
    with RunFiles(runs, "fig1a").lock(probe=True):
        pass
    wait_for(lambda: training_processes(runs) == [], "the training process to exit", timeout=30)
    done = epochs_recorded(runs, "fig1a")[-1]
    result = hw5("run", "fig1a", "--resume", "--epochs", str(done + 1), "--runs-dir", runs, "--quiet")
    assert result.returncode == 0, result.stderr
    assert epochs_recorded(runs, "fig1a") == list(range(1, done + 2))


def test_a_terminated_driver_stops_its_runs_and_removes_its_folder(tmp_path):
    runs = str(tmp_path / "runs")
    driver = subprocess.Popen([sys.executable, "-m", "hw5", "run", "fig1a", "fig1b", "--jobs", "2",
                               "--epochs", "1000", "--runs-dir", runs, *TINY], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=environment(), cwd=REPO)
    try:
        wait_for(lambda: epochs_recorded(runs, "fig1a") and epochs_recorded(runs, "fig1b"), "an epoch of both",
                 proc=driver)
        driver.terminate()                                   # SIGTERM, to the driver alone
        out, _ = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 130, out
    assert not [n for n in os.listdir(runs) if n.startswith(".sweep-")], os.listdir(runs)
    assert training_processes(runs) == [] and "Continue with:" in out


def test_an_unreachable_scheduler_is_a_one_line_error(tmp_path):
    port = free_port()  # nothing listens there
    start = time.monotonic()
    result = hw5("run", "fig1a", "--cluster", f"tcp://127.0.0.1:{port}", "--runs-dir", str(tmp_path), *TINY,
                 timeout=60)
    took = time.monotonic() - start
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr + result.stdout
    assert f"no Dask scheduler at tcp://127.0.0.1:{port}: nothing listens there (connection refused)" in result.stderr
    assert took < 30   # the connect timeout is ours (10 s), not Dask's default of 30 s


class Listener:
    """A TCP server on 127.0.0.1 that answers each connection as ``answer(conn)`` does, in a thread."""

    def __init__(self, answer) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.answer, self.conns = answer, []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def close(self) -> None:
        self.server.close()
        for conn in self.conns:
            conn.close()


def _http(conn) -> None:
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = conn.recv(1024)
        if not chunk:
            return
        request += chunk
    conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")


def _silent(conn) -> None:
    time.sleep(60)


def _junk(conn) -> None:
    conn.sendall(b"\xff" * 8 + b"hello, this is not dask\n")   # 8 bytes that read as a length of 16 EiB


@pytest.mark.parametrize("answer, says", [
    (_http, "a web server answered (HTTP/1.0 404 Not Found), not a Dask scheduler"),
    (_silent, "something accepted the connection but sent nothing in 1.5s"),
    (_junk, "it sent 32 byte(s), b'\\xff\\xff"),
], ids=["http", "silent", "junk"])
def test_a_listener_that_is_not_a_scheduler_is_named_in_one_line(tmp_path, monkeypatch, capsys, answer, says):
    import hw5.cluster
    monkeypatch.setattr(hw5.cluster, "CONNECT_TIMEOUT", 1.5)
    listener = Listener(answer)
    address = f"tcp://127.0.0.1:{listener.port}"
    status: list[int] = []
    caller = threading.Thread(target=lambda: status.append(main(["run", "fig1a", "--cluster", address,
                                                                  "--runs-dir", str(tmp_path), *TINY])),
                              daemon=True)
    try:
        start = time.monotonic()
        caller.start()
        caller.join(timeout=60)
        took = time.monotonic() - start
    finally:
        listener.close()
    assert not caller.is_alive(), "the command hung"
    err = capsys.readouterr().err
    assert status == [2] and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"no Dask scheduler at {address}: {says}" in err, err
    assert took < 10


def test_ctrl_c_stops_every_running_experiment_and_prints_how_to_continue(tmp_path):
    runs = str(tmp_path / "runs")
    # Ctrl-C in a terminal reaches the whole foreground process group: the driver and its local workers
    driver = subprocess.Popen([sys.executable, "-m", "hw5", "run", "fig1a", "fig1b", "fig1c", "--jobs", "2",
                               "--epochs", "1000", "--runs-dir", runs, *TINY], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=environment(), cwd=REPO,
                              start_new_session=True)
    try:
        wait_for(lambda: len(epochs_recorded(runs, "fig1a")) and len(epochs_recorded(runs, "fig1b")),
                 "an epoch of both runs", proc=driver)
        os.killpg(driver.pid, signal.SIGINT)
        out, _ = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    assert driver.returncode == 130, out
    assert re.search(r"interrupted +fig1a", out) and re.search(r"interrupted +fig1b", out)
    command = out.split("Continue with:\n", 1)[1].strip().splitlines()[0]
    args = build_parser().parse_args(shlex.split(command)[3:])
    assert (args.names, args.resume, args.jobs, args.runs_dir) == (["fig1a", "fig1b", "fig1c"], True, 2, runs)
    assert training_processes(runs) == []
    for name in ("fig1a", "fig1b"):
        log = open(RunFiles(runs, name).path("train.log")).read()
        assert "interrupted during epoch" in log and "checkpoint after epoch" in log, log
        assert os.path.isfile(RunFiles(runs, name).checkpoint)
    assert not os.path.exists(os.path.join(runs, "fig1c"))


# ----------------------------------------------------------------- pieces
@pytest.mark.parametrize("text, spec", [
    ("tcp://10.0.0.5:8786", ClusterSpec("address", address="tcp://10.0.0.5:8786")),
    ("node7:8786", ClusterSpec("address", address="tcp://node7:8786")),
    ("tls://head.example.org:8786", ClusterSpec("address", address="tls://head.example.org:8786")),
    ("slurm:16", ClusterSpec("slurm", workers=16)),
])
def test_cluster_addresses(text, spec):
    assert parse_cluster(text) == spec


@pytest.mark.parametrize("args, message", [
    (["--cluster", "slurm:0"], "slurm:N needs N of at least 1"),
    (["--cluster", "http://host:8786"], "--cluster expects tcp://HOST:PORT"),
    (["--cluster", "tcp://host"], "--cluster expects tcp://HOST:PORT"),
    (["--cluster", "tcp://host:8786", "--jobs", "2"], "--jobs and --cluster exclude each other"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--dashboard"], "--dashboard needs a cluster"),
])
def test_cluster_mistakes_are_one_line_errors(args, message, capsys):
    assert main(["run", "fig1a", "fig1b", *args, "--dataset", "synthetic"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_dashboard_needs_bokeh(tmp_path, capsys):
    if importlib.util.find_spec("bokeh") is not None:
        pytest.skip("bokeh is installed here")
    assert main(["run", "fig1a", "fig1b", "--jobs", "2", "--dashboard", "--runs-dir", str(tmp_path), *TINY]) == 1
    assert 'python -m hw5 run: error: --dashboard needs bokeh: pip install -e ".[dashboard]"' in capsys.readouterr().err


def test_children_get_their_share_of_the_cores():
    env = child_environment(3, blas=1, base={"OPENBLAS_NUM_THREADS": "8", "PATH": "/bin"})
    assert (env["NUMBA_NUM_THREADS"], env["OPENBLAS_NUM_THREADS"], env["OMP_NUM_THREADS"]) == ("3", "1", "1")
    assert env["PATH"] == "/bin" and env["HW5_SWEEP_TASK"] == "1"
    assert child_environment(2, blas=4, base={})["MKL_NUM_THREADS"] == "2"   # BLAS capped by the share
    # the driver's BLAS setting, as hw5.__main__ leaves it: the user's, else one thread
    assert blas_threads({"OPENBLAS_NUM_THREADS": "4", "OMP_NUM_THREADS": "1"}) == 4 and blas_threads({}) == 1


def test_a_retry_resumes_only_from_a_checkpoint(tmp_path):
    from hw5.sweep_task import Task, attempt_arguments

    task = Task("fig1a", ("--runs-dir", str(tmp_path), "--epochs", "3"), str(tmp_path), "", "t", 1)
    assert attempt_arguments(task, 1) == ["--runs-dir", str(tmp_path), "--epochs", "3"]
    # nothing to resume: the records are the dead attempt's own
    assert attempt_arguments(task, 2) == ["--runs-dir", str(tmp_path), "--epochs", "3", "--overwrite"]
    os.makedirs(tmp_path / "fig1a")
    open(RunFiles(str(tmp_path), "fig1a").checkpoint, "wb").close()
    assert attempt_arguments(task, 1) == ["--runs-dir", str(tmp_path), "--epochs", "3"]
    assert attempt_arguments(task, 2)[-1] == "--resume"


def test_a_stopped_task_interrupts_its_process_and_a_failing_one_kills_it(tmp_path):
    from hw5.sweep_task import launch, supervise

    script = "import time\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    raise SystemExit(130)\n"
    with open(tmp_path / "log", "w") as log:
        proc = launch([sys.executable, "-c", script], log, dict(os.environ))
        time.sleep(0.5)
        assert supervise(proc, should_stop=lambda: True, every=0.1) == (130, True)   # SIGINT reached it

        proc = launch([sys.executable, "-c", script], log, dict(os.environ))

        def fail():
            raise OSError("disk full")

        with pytest.raises(OSError):
            supervise(proc, should_stop=lambda: False, started=fail)
        assert proc.returncode == -signal.SIGKILL


class FakeClient:
    """``client.run`` as the storage check sees it: each worker's reply."""

    def __init__(self, replies):
        self.replies = replies

    def run(self, function, *args, on_error="raise"):
        return {worker: reply(*args) if callable(reply) else reply for worker, reply in self.replies.items()}


def storage_check(tmp_path, replies):
    from hw5.cluster import Connection
    from hw5.sweep import Sweep
    from hw5.sweep_task import DRIVER_MARKER, Task

    sweep_dir = tmp_path / ".sweep-t"
    os.makedirs(sweep_dir)
    (sweep_dir / DRIVER_MARKER).write_text("t\n")
    task = Task("fig1a", (), str(tmp_path), str(sweep_dir), "t", 1)
    sweep = Sweep(Connection(FakeClient(replies), "a fake cluster", None, 3, local=False), [task],
                  ClusterSpec("address", address="tcp://x:1"), {"fig1a": 1}, lambda names: "", io.StringIO())
    sweep.check_shared_storage()


def test_the_storage_check_passes_for_workers_that_share_the_runs_folder(tmp_path):
    from hw5.sweep_task import write_marker

    storage_check(tmp_path, {"tcp://a:1": write_marker, "tcp://b:1": write_marker})
    assert len([n for n in os.listdir(tmp_path / ".sweep-t") if n.startswith("worker-")]) == 1  # one host, pid


@pytest.mark.parametrize("reply, message", [
    ({"ok": False, "host": "b", "error": "cannot see /x/.sweep-t/driver"}, "cannot see /x/.sweep-t/driver"),
    ({"ok": True, "host": "b", "path": "/elsewhere/worker-b-1"}, "its marker /elsewhere/worker-b-1 is not here"),
    (ModuleNotFoundError("No module named 'hw5'"), "is this project installed on every worker"),
])
def test_the_storage_check_names_a_worker_that_does_not_share_it(tmp_path, reply, message):
    with pytest.raises(ClusterError) as error:
        storage_check(tmp_path, {"tcp://b:1": reply})
    assert message in str(error.value) and "tcp://b:1" in str(error.value)


def test_a_worker_without_the_drivers_marker_says_so(tmp_path):
    from hw5.sweep_task import write_marker

    reply = write_marker(str(tmp_path / "not-shared"), "t")
    assert not reply["ok"] and "cannot see" in reply["error"]


def test_progress_lines_follow_the_metrics_file(tmp_path):
    from hw5.watch import RunWatch

    files = RunFiles(str(tmp_path), "fig1d")
    files.start_fresh()
    files.write_config({"name": "fig1d", "batch_size": 4, "data": {"train_images": 400}})
    watch = RunWatch(files.dir, "fig1d", 50)
    watch.poll()
    assert watch.line() == "fig1d  epoch  1/50  test    -    time left: after epoch 1"
    files.append({"type": "iteration", "epoch": 1, "iteration": 50, "loss": 2.0})
    watch.poll()
    assert "epoch  1/50  50%" in watch.line()
    files.append({"type": "epoch", "epoch": 1, "iteration": 100, "test_acc": 0.35, "elapsed": 30.0})
    checkpointed = files.fingerprint()
    second = json.dumps({"type": "epoch", "epoch": 2, "iteration": 200, "test_acc": 0.45, "elapsed": 60.0}) + "\n"
    with open(files.path("metrics.jsonl"), "a") as f:
        f.write(second[:20])                     # a line being written is not read yet...
    watch.poll()
    assert watch.epochs_done == 1
    with open(files.path("metrics.jsonl"), "a") as f:
        f.write(second[20:])                     # ...but once it is whole
    watch.poll()
    line = watch.line()
    assert "epoch  3/50   0%" in line and "test  45.0%" in line and re.search(r"2[34]m\d\ds left", line)
    files.append({"type": "iteration", "epoch": 3, "iteration": 300, "loss": 2.0})
    watch.poll()
    assert "epoch  3/50 eval" in watch.line()      # trained through the epoch, evaluating
    files.trim_to(checkpointed)                  # a resumed run rewrites the file
    watch.poll()
    assert watch.epochs_done == 1 and "test  35.0%" in watch.line()
    finished = RunWatch(files.dir, "fig1d", 1)
    finished.poll()
    assert finished.line().endswith("test  35.0%  finishing")


def test_live_lines_redraw_in_place_on_a_terminal_and_print_now_and_then_elsewhere():
    from hw5.watch import LiveLines

    screen = io.StringIO()
    live = LiveLines(screen, tty=True)
    live.show(["fig1a  epoch 1/2", "fig1b  epoch 1/2"])
    live.say("  done        fig1c")
    live.show(["fig1a  epoch 2/2"])
    assert screen.getvalue() == ("  fig1a  epoch 1/2\n  fig1b  epoch 1/2\n"
                                 "\x1b[2F\x1b[J  done        fig1c\n  fig1a  epoch 1/2\n  fig1b  epoch 1/2\n"
                                 "\x1b[2F\x1b[J  fig1a  epoch 2/2\n")
    log = io.StringIO()
    live = LiveLines(log, every=0.0, tty=False)
    live.show(["fig1a  epoch 1/2"])
    live.show(["fig1a  epoch 1/2"])              # unchanged: not repeated
    live.show(["fig1a  epoch 2/2"])
    assert log.getvalue() == "  fig1a  epoch 1/2\n  fig1a  epoch 2/2\n"


def test_slurm_workers_have_one_core_and_one_thread():
    if importlib.util.find_spec("dask_jobqueue") is None:
        pytest.skip("dask-jobqueue is an optional extra (pip install -e \".[slurm]\")")
    from hw5.cluster import slurm_cluster_class, slurm_cluster_options

    handler = signal.getsignal(signal.SIGINT)
    cluster = slurm_cluster_class()(**slurm_cluster_options(dashboard=False))
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "--cpus-per-task=1" in script and "--nthreads 1" in script and "--mem=" in script
    assert signal.getsignal(signal.SIGINT) is handler   # importing dask-jobqueue did not take Ctrl-C over


def test_local_workers_run_without_dasks_profiler():
    """A worker only waits on its training process; Dask's 10 ms stack sampler would take CPU from the runs."""
    import dask

    from hw5.cluster import connect

    with connect(ClusterSpec("local", workers=1)) as connection:
        settings = connection.client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    assert list(settings.values()) == [False]
