"""Throwaway PostgreSQL and Redis on 127.0.0.1 for the benches (the approach of ``.ci/run``).

``services()`` is a context manager: it starts what the environment does not already provide
(``DATABASE_URL`` / ``CELERY_BROKER_URL`` given = use those servers), yields their URLs, and on
the way out (also on Ctrl-C or SIGTERM) stops what it started and deletes its directory.
Also: a free-port helper, fresh databases by name, and CPU-time accounting from ``/proc``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Services:
    """Where the services are.  ``pg_pid``/``redis_pid`` are set only for the ones started here."""

    database_url: str  # a server URL; the database part is replaced per bench (see database_url_named)
    broker_url: str  # Redis URL for Celery
    redis_url: str  # Redis URL for the cache
    pg_pid: int | None = None
    redis_pid: int | None = None
    pg_settings: str = "external"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(command: str) -> list[str]:
    """initdb/pg_ctl refuse to run as root: run them as ``postgres`` then."""
    if os.geteuid() == 0:
        return ["su", "postgres", "-s", "/bin/sh", "-c", command]
    return ["/bin/sh", "-c", command]


def _sigterm_to_exit(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install_sigterm_handler() -> None:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` runs and the services stop."""
    signal.signal(signal.SIGTERM, _sigterm_to_exit)


def shield_cleanup() -> None:
    """Called first thing in a cleanup: a second Ctrl-C or SIGTERM must not cut it short."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _wait_for(check: Iterable[str], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(list(check), capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")


@contextmanager
def services(*, durable: bool = True, log: bool = True) -> Iterator[Services]:
    """Start PostgreSQL 15 and Redis on free loopback ports unless the environment names them.

    ``durable``: PostgreSQL with its default (production) durability: fsync and synchronous
    commit on.  ``durable=False`` uses CI's settings (fsync, synchronous_commit and
    full_page_writes off), which make every commit much cheaper than in production.
    """
    given_db = os.environ.get("DATABASE_URL", "")
    given_broker = os.environ.get("CELERY_BROKER_URL", "")
    if given_db and not given_db.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"DATABASE_URL must be a PostgreSQL URL for the benches, not {given_db.split(':')[0]}")
    work = Path(tempfile.mkdtemp(prefix="comeback-bench."))
    work.chmod(0o755)
    pg_dir, sock_dir = work / "pg", work / "sock"
    started_pg = started_redis = False
    redis_proc: subprocess.Popen[bytes] | None = None
    try:
        result = Services(database_url=given_db, broker_url=given_broker, redis_url=os.environ.get("REDIS_URL", ""))
        if not given_db:
            pg_port = free_port()
            pg_dir.mkdir()
            sock_dir.mkdir()
            if os.geteuid() == 0:
                shutil.chown(pg_dir, "postgres", "postgres")
                shutil.chown(sock_dir, "postgres", "postgres")
            subprocess.run(
                _as_postgres(f"{PG_BIN}/initdb -D '{pg_dir}' -U postgres -A trust -E UTF8 >/dev/null"), check=True
            )
            if durable:
                options = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
                result.pg_settings = "fsync=on synchronous_commit=on (production defaults)"
            else:
                options = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                result.pg_settings = "fsync=off synchronous_commit=off full_page_writes=off (CI settings)"
            options += f" -p {pg_port} -k {sock_dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
            started_pg = True
            log_file = sock_dir / "pg.log"  # a directory postgres may write to
            subprocess.run(
                _as_postgres(f"{PG_BIN}/pg_ctl -D '{pg_dir}' -l '{log_file}' -w -o \"{options}\" start >/dev/null"),
                check=True,
            )
            result.pg_pid = int((pg_dir / "postmaster.pid").read_text().split()[0])
            result.database_url = f"postgres://postgres@127.0.0.1:{pg_port}/postgres"
        if not given_broker:
            redis_port = free_port()
            redis_proc = subprocess.Popen(
                ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--logfile", str(work / "redis.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            started_redis = True
            _wait_for(["redis-cli", "-h", "127.0.0.1", "-p", str(redis_port), "ping"], "redis-server")
            result.redis_pid = redis_proc.pid
            result.broker_url = f"redis://127.0.0.1:{redis_port}/1"
            result.redis_url = result.redis_url or f"redis://127.0.0.1:{redis_port}/0"
        if log:
            print(f"# PostgreSQL: {redact(result.database_url)} [{result.pg_settings}]")
            print(f"# Redis broker: {redact(result.broker_url)}")
        yield result
    finally:
        shield_cleanup()
        if started_redis:
            stop_process(redis_proc, timeout=10)
        if started_pg:
            subprocess.run(
                _as_postgres(f"{PG_BIN}/pg_ctl -D '{pg_dir}' -m immediate stop"),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(work, ignore_errors=True)


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def database_url_named(server_url: str, name: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def _admin_connect(server_url: str) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(database_url_named(server_url, "postgres"), autocommit=True)


def create_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """Create database ``name`` (dropping any leftover of that name); return its URL."""
    with _admin_connect(server_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if template:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
            )
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url_named(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with _admin_connect(server_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- CPU accounting ----------------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds, CPU seconds of reaped children) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    # after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    own = (int(fields[11]) + int(fields[12])) / CLK_TCK
    children = (int(fields[13]) + int(fields[14])) / CLK_TCK
    return int(fields[1]), own, children


def cpu_self() -> float:
    """CPU seconds this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tree_cpu_seconds(root: int | None) -> float:
    """CPU seconds used so far by a process, its live descendants and the children it reaped."""
    if root is None:
        return 0.0
    parents: dict[int, int] = {}
    own: dict[int, float] = {}
    reaped = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None:
            continue
        parents[int(entry.name)] = stat[0]
        own[int(entry.name)] = stat[1]
        if int(entry.name) == root:
            reaped = stat[2]
    total = reaped
    for pid in own:
        walk = pid
        for _ in range(64):
            if walk == root:
                total += own[pid]
                break
            walk = parents.get(walk, 0)
            if walk <= 1:
                break
    return total


def connections_per_child(parent: int, port: int) -> list[int]:
    """Established TCP connections to 127.0.0.1:``port`` held by each child of ``parent``
    (gunicorn: how the client's keep-alive connections are spread over the workers)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    counts = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[0] != parent:
            continue
        held = 0
        try:
            for fd in (entry / "fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    held += 1
        except OSError:
            continue
        counts.append(held)
    return sorted(counts, reverse=True)


# --- the application server ---------------------------------------------------------------------

def start_gunicorn(
    *, port: int, env: dict[str, str], workers: int, threads: int, worker_class: str, log_file: Path,
    ready: Callable[[], bool], timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """Start ``retention_app.wsgi`` under gunicorn on 127.0.0.1:``port`` (the virtualenv's gunicorn) and
    wait until ``ready()`` is true (``OSError`` from it means: not yet).  Stop it with ``stop_process``."""
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "retention_app.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--chdir", str(REPO),
        "--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads),
        "--error-logfile", str(log_file), "--log-level", "warning",
    ]
    server = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {server.returncode}; see {log_file}")
            try:
                if ready():
                    print(f"# gunicorn on 127.0.0.1:{port}: {workers} workers x {threads} threads ({worker_class}), "
                          "DEBUG=0", flush=True)
                    return server
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f}s")
    except BaseException:
        stop_process(server)  # the caller never gets hold of it
        raise


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    """Terminate a child we started (if still running); kill it if it does not exit within ``timeout``."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_load_client(
    command: list[str], *, server: subprocess.Popen[bytes] | None, port: int, peek_spread: bool,
    peek_after: float, timeout: float,
) -> dict[str, Any]:
    """Run a load client (bench/loadgen.py, bench/loyalty_loadgen.py) to the end and return its JSON
    summary, with ``"spread"``: with ``peek_spread``, how its keep-alive connections were spread over
    the ``server``'s workers ``peek_after`` seconds in (see ``connections_per_child``), else empty."""
    client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    spread: list[int] = []
    try:
        try:
            client.wait(timeout=peek_after)
        except subprocess.TimeoutExpired:
            if server is not None and peek_spread:
                spread = connections_per_child(server.pid, port)
        stdout, stderr = client.communicate(timeout=timeout)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    if client.returncode != 0:
        raise RuntimeError(f"load client failed: {stderr.strip()}")
    result: dict[str, Any] = json.loads(stdout)
    result["spread"] = spread
    return result


def run(main: Callable[[], int]) -> None:
    """A bench script's entry point: exit with ``main()``'s status; on Ctrl-C (the services are
    stopped by then: see the ``finally`` blocks) say so and exit 130."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; services stopped", file=sys.stderr)
        sys.exit(130)
