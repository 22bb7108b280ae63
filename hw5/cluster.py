"""Where a sweep's experiments run: a Dask cluster of one of three kinds, named on the command line.

    --jobs N                    a LocalCluster: N single-threaded worker processes on this machine
    --cluster tcp://HOST:PORT   a running ``dask scheduler``, whose workers were started with ``dask worker``
    --cluster slurm:N           N one-core workers started by Slurm (dask-jobqueue: ``pip install -e ".[slurm]"``)

All three give a :class:`distributed.Client`; everything after that is one code
path (:mod:`hw5.sweep`).

**allowed-failures.**  A Dask scheduler gives up on a task once that many workers
died while running it (``KilledWorker``); the guard is meant for tasks that kill
their own workers.  A sweep's worker does no work itself: training runs in a
child process, whose memory the worker's memory monitor does not count, so a
worker that dies was killed from outside (a preempted node, a Slurm time limit,
an operator).  Each such death costs the run at most the epoch in progress.  So
the schedulers this module starts allow :data:`ALLOWED_FAILURES` (10) instead of
Dask's 3: a long run on preemptible nodes or under short Slurm time limits is
not given up too soon.  A scheduler started by ``dask scheduler`` uses its own
setting, which the sweep reports (``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=10
dask scheduler`` raises it).
"""
from __future__ import annotations

import contextlib
import importlib.util
import logging
import re
import signal
import socket
import struct
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

ALLOWED_FAILURES = 10     # worker deaths a task survives on the schedulers started here (see above)
CONNECT_TIMEOUT = 10      # seconds to reach a scheduler and hear its greeting before giving up
SLURM_MEMORY = "4GiB"     # per one-core Slurm worker, unless dask-jobqueue's configuration says otherwise


class ClusterError(Exception):
    """The cluster cannot be had (a worker without the project, a missing package): reported in one line."""


class SchedulerUnreachable(ClusterError):
    """No Dask scheduler answers at the address given: one line saying what did, exit status 2."""


@dataclass(frozen=True)
class ClusterSpec:
    """What ``--jobs``/``--cluster`` asked for."""

    kind: str              # local | address | slurm
    workers: int = 0       # local and slurm: how many
    address: str = ""      # address: the scheduler's

    def options(self) -> list[str]:
        """The command-line options that ask for this cluster again."""
        if self.kind == "local":
            return ["--jobs", str(self.workers)]
        return ["--cluster", self.address if self.kind == "address" else f"slurm:{self.workers}"]


_ADDRESS = re.compile(r"^(?:(tcp|tls)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def parse_cluster(text: str) -> ClusterSpec:
    """``tcp://HOST:PORT`` (or ``tls://``, or bare ``HOST:PORT``) or ``slurm:N``; ValueError otherwise."""
    slurm = re.fullmatch(r"slurm:(\d+)", text.strip())
    if slurm:
        if int(slurm.group(1)) < 1:
            raise ValueError("--cluster slurm:N needs N of at least 1")
        return ClusterSpec("slurm", workers=int(slurm.group(1)))
    address = _ADDRESS.match(text.strip())
    if not address or not 0 < int(address.group(3)) < 65536:
        raise ValueError(f"--cluster expects tcp://HOST:PORT (a running `dask scheduler`) or slurm:N, "
                         f"got {text!r}")
    scheme = address.group(1) or "tcp"
    return ClusterSpec("address", address=f"{scheme}://{address.group(2)}:{address.group(3)}")


@dataclass
class Connection:
    """A client, and what the driver should tell the user about its cluster."""

    client: Any                    # distributed.Client
    description: str               # "a local Dask cluster of 2 single-threaded workers (started in 2.3s)"
    dashboard: str | None          # the dashboard's address, when there is one
    allowed_failures: int | None   # the scheduler's setting, when it could be read
    local: bool                    # the workers run on this machine, in this terminal


@contextlib.contextmanager
def connect(spec: ClusterSpec, dashboard: bool = False) -> Iterator[Connection]:
    """Start or reach the cluster ``spec`` names; close what was started on leaving."""
    if dashboard and spec.kind != "address" and importlib.util.find_spec("bokeh") is None:
        raise ClusterError('--dashboard needs bokeh: pip install -e ".[dashboard]"')
    # The sweep reports what matters in its own words; Dask's log lines (a lost connection's traceback,
    # a busy port) would bury them.  The scheduler's and workers' own logs keep the details.
    import distributed  # noqa: F401  (it configures its loggers on import)

    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.split(".")[0] == "distributed":
            logging.getLogger(name).setLevel(logging.CRITICAL)
    if spec.kind == "address":
        with _remote(spec.address) as connection:
            yield connection
        return
    import dask
    from distributed import Client  # first: it adds its defaults to dask's configuration, which set() saves

    # A worker only waits on its run's training process: Dask's statistical profiler, which samples the worker's
    # threads every 10 ms, would take CPU from the runs for a profile no one reads (the workers get this
    # configuration from their nannies).
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                          "distributed.worker.profile.enabled": False}), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "port 8787 is in use": another is taken instead
        start = time.monotonic()
        cluster = _local_cluster(spec.workers, dashboard) if spec.kind == "local" else _slurm(spec.workers, dashboard)
    try:
        client = Client(cluster, set_as_default=False)
        try:
            if spec.kind == "local":
                from hw5.sweep_task import IgnoreInterrupts

                client.register_plugin(IgnoreInterrupts())
                what = (f"a local Dask cluster of {spec.workers} single-threaded worker processes "
                        f"(started in {time.monotonic() - start:.1f}s)")
            else:
                what = f"Slurm, {spec.workers} one-core worker job(s) requested (scheduler {cluster.scheduler_address})"
            yield Connection(client, what, client.dashboard_link if dashboard else None, ALLOWED_FAILURES,
                             local=spec.kind == "local")
        finally:
            client.close()
    finally:
        cluster.close()


def _local_cluster(workers: int, dashboard: bool) -> Any:
    from distributed import LocalCluster

    # Without a dashboard the scheduler still serves health checks over HTTP: on a free port, not 8787.
    address = "127.0.0.1:8787" if dashboard else "127.0.0.1:0"
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=address if dashboard else None,
                        scheduler_kwargs={"dashboard": dashboard, "dashboard_address": address},
                        silence_logs=logging.ERROR)


def slurm_cluster_options(dashboard: bool) -> dict[str, Any]:
    """dask-jobqueue's SLURMCluster options: one-core, one-thread workers; the rest from its configuration."""
    import dask

    return {"cores": 1, "processes": 1,
            "memory": dask.config.get("jobqueue.slurm.memory", None) or SLURM_MEMORY,
            "scheduler_options": {"dashboard_address": ":8787" if dashboard else ":0", "dashboard": dashboard}}


def slurm_cluster_class() -> Any:
    """dask-jobqueue's SLURMCluster, imported without letting it take over Ctrl-C.

    Importing dask-jobqueue installs a SIGINT handler that exits at once (its
    ``runner`` module does); the driver's own handling, which stops every run
    after its checkpoint, must stay in place.
    """
    previous = signal.getsignal(signal.SIGINT)
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise ClusterError('--cluster slurm:N needs dask-jobqueue: pip install -e ".[slurm]"') from None
    finally:
        if threading.current_thread() is threading.main_thread() and previous is not None:
            signal.signal(signal.SIGINT, previous)
    return SLURMCluster


def _slurm(workers: int, dashboard: bool) -> Any:
    cluster = slurm_cluster_class()(**slurm_cluster_options(dashboard))
    cluster.scale(jobs=workers)
    return cluster


def probe_scheduler(address: str, timeout: float | None = None) -> None:
    """SchedulerUnreachable, saying what answered, unless a Dask scheduler greets at ``tcp://HOST:PORT``.

    Dask's own client waits without limit for a greeting that a web server or a
    silent listener never sends, and reads a stranger's bytes as a message
    length (exabytes).  A scheduler sends its greeting as soon as it accepts a
    connection: eight bytes giving the length of what follows, then that many
    bytes of frames, each announced by its own length.  So connecting, and
    reading that much within ``timeout`` seconds, tells a scheduler from
    everything else, without sending it anything.
    """
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    host, port = address.split("://", 1)[1].rsplit(":", 1)
    host = host.strip("[]")
    deadline = time.monotonic() + timeout

    def refuse(what: str) -> SchedulerUnreachable:
        return SchedulerUnreachable(f"no Dask scheduler at {address}: {what}; start one with `dask scheduler` "
                                    "(it listens on port 8786 unless told otherwise), and check the address")

    try:
        conn = socket.create_connection((host, int(port)), timeout=timeout)
    except socket.gaierror as exc:
        raise refuse(f"the host name {host!r} does not resolve ({exc.strerror})") from None
    except ConnectionRefusedError:
        raise refuse("nothing listens there (connection refused)") from None
    except TimeoutError:
        raise refuse(f"no answer to the connection within {timeout:g}s") from None
    except OSError as exc:
        raise refuse(f"cannot connect ({exc.strerror or exc})") from None
    with conn:
        received = bytearray()
        try:
            (length,) = struct.unpack("<Q", _read(conn, 8, deadline, received))
            if not 16 <= length <= 1 << 20:
                raise ValueError
            body = _read(conn, length, deadline, received)
            (frames,) = struct.unpack_from("<Q", body)
            if not 1 <= frames <= 64 or 8 + 8 * frames > length:
                raise ValueError
            sizes = struct.unpack_from(f"<{frames}Q", body, 8)
            if 8 + 8 * frames + sum(sizes) != length:
                raise ValueError
        except TimeoutError:
            if received:
                raise refuse(f"it sent {_show(received)} and then nothing for {timeout:g}s") from None
            raise refuse(_silent(conn, timeout)) from None
        except (EOFError, ValueError, struct.error, OSError):
            with contextlib.suppress(OSError):   # what else came, to show it
                conn.settimeout(0.2)
                received += conn.recv(64)
            if received.startswith(b"HTTP/"):
                raise refuse(f"a web server answered ({_show(received)}), not a Dask scheduler: is this the "
                             "dashboard's port?") from None
            if not received:
                raise refuse("it closed the connection without a word") from None
            raise refuse(f"it sent {_show(received)}, which is not a Dask scheduler's greeting") from None


def _read(conn: socket.socket, count: int, deadline: float, received: bytearray) -> bytes:
    """The next ``count`` bytes before ``deadline`` (all bytes read are added to ``received``):
    TimeoutError when it passes, EOFError if the peer closes first."""
    start = len(received)
    while len(received) - start < count:
        conn.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = conn.recv(min(count - (len(received) - start), 1 << 16))
        if not chunk:
            raise EOFError
        received += chunk
    return bytes(received[start:])


def _silent(conn: socket.socket, timeout: float) -> str:
    """What a listener that said nothing is: asked, a web server names itself."""
    try:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        conn.settimeout(2.0)
        reply = conn.recv(200)
    except OSError:
        reply = b""
    if reply.startswith(b"HTTP/"):
        status = reply.split(b"\r\n", 1)[0].decode("latin-1")
        return f"a web server answered ({status}), not a Dask scheduler: is this the dashboard's port?"
    return f"something accepted the connection but sent nothing in {timeout:g}s (a scheduler greets at once)"


def _show(data: bytes | bytearray) -> str:
    data = bytes(data)
    return f"{len(data)} byte(s), {data[:24]!r}{'...' if len(data) > 24 else ''}"


@contextlib.contextmanager
def _remote(address: str) -> Iterator[Connection]:
    from distributed import Client

    if address.startswith("tcp://"):
        probe_scheduler(address)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:   # anything Dask raises here means: no scheduler to work with
        raise SchedulerUnreachable(f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT}s "
                                   f"({type(exc).__name__}: {exc}); start one with `dask scheduler` and check "
                                   "the address and port") from None
    try:
        dashboard, allowed = _scheduler_facts(client)
        yield Connection(client, f"the Dask scheduler at {address}", dashboard, allowed, local=False)
    finally:
        client.close()


def _scheduler_facts(client: Any) -> tuple[str | None, int | None]:
    """The dashboard's address (when the scheduler serves one) and its allowed-failures setting."""
    def facts(dask_scheduler: Any) -> tuple[bool, int]:
        import sys
        return "distributed.dashboard.scheduler" in sys.modules, dask_scheduler.allowed_failures

    try:
        has_dashboard, allowed = client.run_on_scheduler(facts)
    except Exception:  # an older or locked-down scheduler: say nothing rather than fail the sweep
        return None, None
    return (client.dashboard_link if has_dashboard else None), allowed
