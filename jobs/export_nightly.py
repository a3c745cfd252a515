"""Nightly exports of OUTPUTS.md: per-region risk lists (CSV + xlsx), certification lists, manifest.

The folder `<exports>/<run_date>/` is written completely or not at all, and re-running
the date with unchanged inputs writes identical bytes.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import subprocess
from decimal import Decimal
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import __version__, lake
from lakehouse.config import REPO_ROOT, Env
from lakehouse.export_files import atomic_folder, csv_bytes, sha256, write_manifest, xlsx_bytes
from lakehouse.identity import mask_certno, mask_name
from lakehouse.spark import get_spark

log = logging.getLogger(__name__)
RISK_HEADER = ["clue_id", "rule_code", "risk_type", "person_ref", "name_masked", "certno_masked", "region", "score",
               "amount_at_risk", "evidence", "first_seen", "status", "suggested_action"]
CERT_HEADER = ["person_ref", "name_masked", "certno_masked", "region", "status", "p_alive", "last_strong_signal",
               "last_signal_source", "cycle"]
UNKNOWN_REGION = "000000"
REGION_CODE = re.compile(r"^[0-9]{6}$")
RISK_NOTES = {
    "clue_id": "线索编号(同一人同一规则固定)", "rule_code": "规则代码", "risk_type": "风险类型",
    "person_ref": "人员假名编号", "name_masked": "姓名(脱敏)", "certno_masked": "身份证号(脱敏)",
    "region": "行政区划", "score": "风险分(0-100)", "amount_at_risk": "涉及金额(元)", "evidence": "证据说明",
    "first_seen": "首次发现日期", "status": "状态(NEW 新增/OPEN 持续)", "suggested_action": "建议处置",
}
RISK_WIDTHS = {"clue_id": 18, "rule_code": 26, "risk_type": 22, "person_ref": 18, "certno_masked": 20,
               "evidence": 70, "first_seen": 12, "suggested_action": 14, "amount_at_risk": 14}


def region_of(region: str | None) -> str:
    """The region a row is filed under: its 6-digit code, else 000000 (未知). Regions name files and
    sheets, so nothing else reaches a path (silver already quarantines bad codes)."""
    return region if region and REGION_CODE.match(region) else UNKNOWN_REGION


def code_version() -> str:
    """Package version plus the commit of the code that ran (when in a git checkout)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        return f"{__version__}+{sha}"
    except (OSError, subprocess.CalledProcessError):
        return __version__


def _text(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value.as_tuple().exponent == -2 else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def risk_rows(clues: DataFrame, identity: DataFrame) -> DataFrame:
    """Clues joined to the restricted identity for masking (masked in Python below)."""
    return clues.join(identity.select("person_ref", "certno", "name"), "person_ref", "left")


def watermarks(spark: SparkSession, env: Env, run_date: dt.date) -> dict[str, str | None]:
    """Last extract date loaded per source up to the run date (stale when a source did not deliver)."""
    from lakehouse.sources import load_sources

    rows = (lake.read(spark, env, "ops.deliveries")
            .where((F.col("status") == "LOADED") & (F.col("extract_date") <= F.lit(run_date)))
            .groupBy("source").agg(F.max("extract_date").alias("d")).collect())
    found = {r.source: r.d.isoformat() for r in rows}
    return {s: found.get(s) for s in sorted(load_sources())}


def run(run_date: dt.date, env: Env, run_id: str) -> Path:
    """Write `<exports>/<run_date>/` atomically; returns the folder."""
    spark = get_spark(env, "export_nightly")
    identity = lake.read(spark, env, "restricted.identity")
    regions = [region_of(r.region) for r in lake.read(spark, env, "silver.person").where("is_pensioner")
               .select("region").distinct().collect()]
    clues = risk_rows(lake.read(spark, env, "gold.risk_clue"), identity).orderBy(
        "region", "rule_code", F.col("score").desc(), "clue_id").collect()
    cert = (lake.read(spark, env, "gold.certification")
            .join(identity.select("person_ref", "certno", "name"), "person_ref", "left")
            .orderBy("region", "person_ref").collect())
    # a clue outside any pensioner region still gets a list (never dropped silently)
    regions = sorted(set(regions) | {region_of(c.region) for c in clues})
    used = ["model_name", "model_version", "model_run_id", "model_trained_as_of"]
    model = lake.read(spark, env, "gold.survival_score").select(*used).distinct().collect()
    if lake.exists(env, "gold.fraud_score"):  # M02: the fraud model's version and its published threshold
        model += (lake.read(spark, env, "gold.fraud_score").select(*used, "threshold").distinct().collect())
    stamp = dt.datetime.combine(run_date, dt.time())
    files: list[dict] = []
    target = env.paths.exports / run_date.isoformat()
    with atomic_folder(target) as folder:
        (folder / "risk_list").mkdir()
        (folder / "certification").mkdir()
        for region in regions:
            rows = [
                [c.clue_id, c.rule_code, c.risk_type, c.person_ref, mask_name(c.name), mask_certno(c.certno),
                 c.region, c.score, _text(c.amount_at_risk), c.evidence, _text(c.first_seen), c.status,
                 c.suggested_action]
                for c in clues if (region_of(c.region)) == region
            ]
            for rel, data in (
                (f"risk_list/risk_list_{region}.csv", csv_bytes(RISK_HEADER, rows)),
                (f"risk_list/risk_list_{region}.xlsx",
                 xlsx_bytes(RISK_HEADER, rows, f"风险线索_{region}", stamp, RISK_NOTES, RISK_WIDTHS)),
            ):
                (folder / rel).write_bytes(data)
                files.append({"path": rel, "rows": len(rows), "sha256": sha256(data)})
            crows = [
                [c.person_ref, mask_name(c.name), mask_certno(c.certno), c.region, c.status,
                 None if c.p_alive is None else f"{c.p_alive:.3f}", _text(c.last_strong_signal),
                 c.last_signal_source, c.cycle]
                for c in cert if (region_of(c.region)) == region
            ]
            rel = f"certification/certification_{region}.csv"
            data = csv_bytes(CERT_HEADER, crows)
            (folder / rel).write_bytes(data)
            files.append({"path": rel, "rows": len(crows), "sha256": sha256(data)})
        write_manifest(folder, {
            "run_date": run_date.isoformat(),
            "code_version": code_version(),
            "model_versions": {m.model_name: m.model_version for m in model},
            # each model named unambiguously: registry version, MLflow run, training as-of (and M02's threshold)
            "models": {m.model_name: {"version": m.model_version, "mlflow_run_id": m.model_run_id,
                                      "trained_as_of": _text(m.model_trained_as_of),
                                      **({"threshold": m["threshold"]} if "threshold" in m.asDict() else {})}
                       for m in model},
            "watermarks": watermarks(spark, env, run_date),
            "files": sorted(files, key=lambda f: f["path"]),
        })
    log.info("exports for %s written to %s: %d regions, %d clues, %d pensioners", run_date, target, len(regions),
             len(clues), len(cert))
    return target
