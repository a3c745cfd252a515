"""Real servers for the service tests. `trino_server`: Trino 476 over the nightly lake's tables, with the
monthly forecast tables added to that lake first (`forecast_tables`)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lakehouse.config import REPO_ROOT, Env
from lakehouse.services import trino


def free_port() -> int:
    """A TCP port nothing listens on right now (so tests never collide with `make trino`)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_pair() -> int:
    """A port p such that p and p + 1 are free (Trino's HTTPS port and its internal HTTP port)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two adjacent free ports")


@dataclass
class TrinoServer:
    """A started Trino whose `lakehouse` catalog holds the lake's gold/silver/restricted tables."""

    env: Env  # the lake's Env with this server's port and state dir in services["trino"]
    host: str
    port: int
    registration: trino.Registration  # what the first registration did

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def connect(self, user: str = "analyst", password: str | None = None) -> Any:
        """trino DBAPI connection over HTTPS as a user of conf/access.yaml, catalog `lakehouse`."""
        return trino.connect(self.env, user, password=password)

    def query(self, sql: str, user: str = "analyst") -> list[list[Any]]:
        """All rows of one statement."""
        return trino.query(self.env, sql, user)


@pytest.fixture(scope="session")
def forecast_tables(nightly_lake: Any) -> dict[str, int]:
    """The monthly `forecast` step run once on the nightly lake, as of its last night.

    The nightly DAG does not run it (it is the monthly DAG `forecast_fund`), but the 基金预测
    dashboard and its views read gold.fund_forecast and gold.fund_projection: one in-process step on
    the shared lake is far cheaper than a lake of its own.
    """
    from lakehouse.pipeline import run_step

    run_date = nightly_lake.dates[-1]
    return run_step("forecast", run_date, nightly_lake.env, f"forecast__{run_date}")


@pytest.fixture(scope="session")
def trino_server(
    nightly_lake: Any, forecast_tables: dict[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrinoServer]:
    """Trino on a free port (HTTPS; the next port is its internal HTTP) with its state, certificate
    and passwords in a temp dir, tables of `nightly_lake` registered (the forecast tables included).

    Installs the trimmed server first when the cache lacks it (scripts/setup_trino.sh, idempotent).
    Stopped at the end of the session.
    """
    try:
        trino.server_dir()
    except RuntimeError:
        subprocess.run(["bash", str(REPO_ROOT / "scripts" / "setup_trino.sh")], check=True)
    env = trino.with_trino(nightly_lake.env, port=free_port_pair(), state_dir=tmp_path_factory.mktemp("trino"))
    settings = trino.start(env)
    try:
        registration = trino.register_lake_tables(env)
        yield TrinoServer(env=env, host=settings.host, port=settings.port, registration=registration)
    finally:
        trino.stop(env)
