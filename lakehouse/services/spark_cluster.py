"""A Spark standalone master and worker on this machine, and spark-submit of a pipeline step.

This is the proof that the jobs run unchanged on a cluster: the same `lakehouse step`
entry point, submitted with spark-submit to a standalone master (conf/env/cluster.yaml).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pyspark

from lakehouse.config import REPO_ROOT, Env
from lakehouse.services import process
from lakehouse.spark import delta_jars

log = logging.getLogger(__name__)
SPARK_HOME = Path(pyspark.__file__).parent
MASTER_PORT = 7077


def _state(env: Env) -> Path:
    return env.paths.state / "spark-cluster"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _environ() -> dict[str, str]:
    return {"SPARK_HOME": str(SPARK_HOME), "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1",
            "LAKEHOUSE_HOME": str(REPO_ROOT)}


def start(env: Env, worker_cores: int = 2, worker_memory: str = "3g") -> str:
    """Start master and one worker; returns the master URL."""
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    url = f"spark://127.0.0.1:{MASTER_PORT}"
    process.start("spark-master", [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                   "--port", str(MASTER_PORT), "--webui-port", "18090"], _state(env), _environ())
    process.wait_until(lambda: _port_open(MASTER_PORT), "spark master", 60, _state(env) / "spark-master.log")
    process.start("spark-worker", [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--cores",
                                   str(worker_cores), "--memory", worker_memory, "--webui-port", "18091"],
                  _state(env), _environ())
    process.wait_until(lambda: "Successfully registered with master" in
                       (_state(env) / "spark-worker.log").read_text(errors="replace"),
                       "spark worker", 60, _state(env) / "spark-worker.log")
    return url


def stop(env: Env) -> None:
    """Stop worker and master."""
    process.stop("spark-worker", _state(env))
    process.stop("spark-master", _state(env))


def code_zip(dest: Path) -> Path:
    """The project's packages as a zip for --py-files (executors need the job code)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w") as z:
        for pkg in ("lakehouse", "jobs", "models"):
            for f in sorted((REPO_ROOT / pkg).rglob("*.py")):
                z.write(f, f.relative_to(REPO_ROOT).as_posix())
    return dest


def _entry_point(folder: Path) -> Path:
    """A main file outside the package: running lakehouse/cli.py itself would put lakehouse/ first
    on sys.path, where lakehouse/secrets.py shadows the standard library's `secrets`."""
    path = folder / "lakehouse_main.py"
    path.write_text("import sys\n\nfrom lakehouse.cli import main\n\nsys.exit(main())\n")
    return path


def submit(env: Env, master: str, cli_args: list[str]) -> None:
    """spark-submit `lakehouse <cli_args>` to the master; raises when the job fails."""
    py_files = code_zip(_state(env) / "lakehouse-code.zip")
    cmd = [
        str(SPARK_HOME / "bin" / "spark-submit"), "--master", master, "--deploy-mode", "client",
        "--jars", ",".join(str(j) for j in delta_jars()), "--py-files", str(py_files),
        "--conf", "spark.executor.memory=2g", "--conf", "spark.cores.max=2",
        str(_entry_point(_state(env))), "--env", env.name, *cli_args,
    ]
    log.info("spark-submit %s", " ".join(cli_args))
    result = subprocess.run(cmd, env={**os.environ, **_environ()}, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"spark-submit of `lakehouse {' '.join(cli_args)}` failed with exit {result.returncode}")
