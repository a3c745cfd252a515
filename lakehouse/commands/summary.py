"""`lakehouse summary`: where the latest exports are and what they hold, in one screen."""

from __future__ import annotations

import argparse
import json

from lakehouse.commands._options import add_paths, env_from_args


def _summary(args: argparse.Namespace) -> int:
    from pyspark.sql import functions as F

    from lakehouse import lake
    from lakehouse.spark import get_spark

    env = env_from_args(args)
    runs = sorted(p for p in env.paths.exports.glob("*") if (p / "manifest.json").exists())
    if not runs:
        print(f"no exports under {env.paths.exports} yet: run `make run` or `lakehouse nightly`")
        return 1
    latest = runs[-1]
    manifest = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
    print(f"\n夜间导出 exports: {latest}  (runs: {', '.join(p.name for p in runs)})")
    print(f"code {manifest['code_version']}  models {manifest['model_versions']}")
    print("\n数据水位 watermarks: " + ", ".join(f"{k}={v}" for k, v in manifest["watermarks"].items()))
    print(f"\n{'file':<48}{'rows':>7}")
    for f in manifest["files"]:
        if f["path"].endswith(".csv"):
            print(f"{f['path']:<48}{f['rows']:>7}")
    spark = get_spark(env, "summary")
    print("\n风险线索 clues by rule:")
    for r in lake.read(spark, env, "gold.risk_clue").groupBy("rule_code", "risk_type").agg(
            F.count(F.lit(1)).alias("n"), F.sum("amount_at_risk").alias("amt")).orderBy("rule_code").collect():
        print(f"  {r.rule_code:<28}{r.risk_type:<16}{r.n:>6}  {r.amt or 0:>12} 元")
    print("\n资格认证 certification:")
    for r in lake.read(spark, env, "gold.certification").groupBy("status").count().orderBy("status").collect():
        print(f"  {r.status:<20}{r['count']:>7}")
    print("\n接入 deliveries (not LOADED):")
    for r in lake.read(spark, env, "ops.deliveries").where("status != 'LOADED'").orderBy(
            "extract_date", "source").collect():
        print(f"  {r.extract_date} {r.source:<16}{r.status:<9}{r.reason}")
    if lake.exists(env, "quarantine.records"):
        print("\n隔离 quarantine by reason:")
        q = lake.read(spark, env, "quarantine.records").select("silver_table", F.explode("reasons").alias("reason"))
        for r in q.groupBy("silver_table", "reason").count().orderBy("silver_table", "reason").collect():
            print(f"  {r.silver_table:<22}{r.reason:<40}{r['count']:>6}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `summary`."""
    p = sub.add_parser("summary", help="print where the latest exports are and a short summary table",
                       description="Summarise the latest export folder, clues, certification and deliveries.")
    add_paths(p, "lake", "exports")
    p.set_defaults(handler=_summary)
