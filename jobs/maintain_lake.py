"""Lake maintenance: Delta OPTIMIZE (compaction) and VACUUM with a retention that keeps time travel."""

from __future__ import annotations

import datetime as dt
import logging

from lakehouse.config import Env, load_conf
from lakehouse.spark import get_spark

log = logging.getLogger(__name__)


def run(run_date: dt.date, env: Env, run_id: str) -> dict[str, int]:
    """Compact and vacuum every Delta table of the configured layers; returns tables per layer."""
    from delta.tables import DeltaTable

    conf = load_conf("maintenance.yaml")
    spark = get_spark(env, "maintain_lake")
    done: dict[str, int] = {}
    for layer in conf["layers"]:
        folder = env.paths.lake / layer
        tables = sorted(p for p in folder.glob("*") if (p / "_delta_log").is_dir()) if folder.is_dir() else []
        for path in tables:
            table = DeltaTable.forPath(spark, str(path))
            table.optimize().executeCompaction()
            table.vacuum(float(conf["vacuum_retention_hours"]))
        done[layer] = len(tables)
        log.info("maintained %d %s tables (vacuum keeps %s h)", len(tables), layer, conf["vacuum_retention_hours"])
    return done
