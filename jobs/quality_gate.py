"""Data-quality gate: Great Expectations suites (expectations/*.json) over silver before gold.

Every suite runs; results are kept per run under `<state>/gx/<run_date>/`; any failure
raises `ExpectationFailed` naming the table and the failed expectations, so gold is not
built from bad silver. A table that passed its suite and has not been written since (same
Delta commit, same suite) is not validated again: its passing result is carried forward
(`reused_from` in the result file), so registries cost nothing on nights without a snapshot.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pyspark.sql import DataFrame

from lakehouse import lake
from lakehouse.config import REPO_ROOT, Env
from lakehouse.errors import ExpectationFailed
from lakehouse.spark import get_spark

log = logging.getLogger(__name__)
SUITES_DIR = REPO_ROOT / "expectations"


@dataclass(frozen=True)
class SuiteResult:
    table: str
    success: bool
    failures: list[str]
    raw: dict


def load_suite(path: Path):  # type: ignore[no-untyped-def]
    """A GX ExpectationSuite from its JSON file."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    body = json.loads(path.read_text(encoding="utf-8"))
    suite = gx.ExpectationSuite(name=body["name"], meta=body.get("meta", {}))
    for e in body["expectations"]:
        suite.add_expectation_configuration(ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"]))
    return suite


@cache
def _spark_source():  # type: ignore[no-untyped-def]
    """One ephemeral GX context and Spark data source per process: creating them costs more than
    validating a small table, and the night validates every silver table."""
    import great_expectations as gx

    return gx.get_context(mode="ephemeral").data_sources.add_spark(name="lake")


def validate(df: DataFrame, suite_path: Path) -> SuiteResult:
    """Validate a Spark DataFrame against one suite (GX Spark data source, whole-dataframe batch).

    A first pass asks only whether each expectation holds (`BOOLEAN_ONLY`: less than half the
    Spark jobs of the default); a suite that fails is validated again with `SUMMARY`, whose
    unexpected counts and examples name what is wrong.
    """
    suite = load_suite(suite_path)
    source = _spark_source()
    name = suite.name.replace(".", "_")
    asset = next((a for a in source.assets if a.name == name), None) or source.add_dataframe_asset(name=name)
    definition = next((b for b in asset.batch_definitions if b.name == "all"), None) \
        or asset.add_batch_definition_whole_dataframe("all")
    batch = definition.get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(suite, result_format="BOOLEAN_ONLY")
    if not result.success:
        result = batch.validate(suite, result_format="SUMMARY")
    failures = []
    for r in result.results:
        if not r.success:
            cfg = r.expectation_config
            detail = {k: v for k, v in (r.result or {}).items() if k in ("unexpected_count", "unexpected_percent", "partial_unexpected_list")}
            failures.append(f"{cfg.type}({json.dumps(cfg.kwargs, ensure_ascii=False, default=str)}) {detail}")
    return SuiteResult(suite.name, bool(result.success), failures, result.to_json_dict())


def _stamp(env: Env, table: str, suite_path: Path) -> str:
    """The table's last commit (version and time) and the suite's digest: equal stamps, equal results."""
    from deltalake import DeltaTable

    last = DeltaTable(str(lake.table_path(env, table))).history(1)[0]
    suite = hashlib.sha256(suite_path.read_bytes()).hexdigest()[:12]
    return f"{last.get('version')}@{last.get('timestamp')}/{suite}"


def run(run_date: dt.date, env: Env, run_id: str, suites_dir: Path = SUITES_DIR) -> list[SuiteResult]:
    """Run every suite; keep the results; raise ExpectationFailed when any suite fails."""
    spark = get_spark(env, "quality_gate")
    out_dir = env.paths.state / "gx" / run_date.isoformat()
    passed_dir = env.paths.state / "gx" / "passed"
    out_dir.mkdir(parents=True, exist_ok=True)
    passed_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for path in sorted(suites_dir.glob("*.json")):
        table = path.stem
        stamp = _stamp(env, table, path)
        memo = passed_dir / f"{table}.json"
        previous = json.loads(memo.read_text(encoding="utf-8")) if memo.exists() else {}
        if previous.get("stamp") == stamp:
            res = SuiteResult(table, True, [], {**previous["raw"], "reused_from": stamp})
        else:
            res = validate(lake.read(spark, env, table), path)
            if res.success:
                memo.write_text(json.dumps({"stamp": stamp, "raw": res.raw}, ensure_ascii=False, default=str))
        (out_dir / f"{table}.json").write_text(json.dumps(res.raw, ensure_ascii=False, indent=1, default=str))
        log.info("GX %-28s %s", table, ("passed" if res.success else "FAILED")
                 + (" (unchanged since it passed)" if "reused_from" in res.raw else ""))
        results.append(res)
    failed = [r for r in results if not r.success]
    if failed:
        lines = [f"{r.table}: " + "; ".join(r.failures) for r in failed]
        raise ExpectationFailed(
            f"data-quality gate failed for {run_date} ({len(failed)} suite(s)); not promoting to gold:\n  "
            + "\n  ".join(lines) + f"\nfull results: {out_dir}"
        )
    return results
