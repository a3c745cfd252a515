"""Operating the lake over several nights of a generated city (issues 3, 4 and 5):

- a supervisor's disposition closes a clue, which leaves the risk list and stays closed;
- every bronze record of every delivery is accounted for (ops.reconciliation);
- a missing or corrupt delivery does not stop the night; the manifest shows the stale watermark;
- a job that fails half-way leaves the lake and the export folder as they were, and a re-run
  completes to the same result as a clean run.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs import reconcile
from lakehouse import lake
from lakehouse.identity import normalise_certno, person_ref
from lakehouse.pipeline import run_nightly, run_step
from lakehouse.recovery import AUDIT_TABLES
from tests.conftest import make_env

CITY = {"persons": 800, "days": 4, "seed": 11}
# four full nights plus re-runs: minutes on a free machine, far longer on a shared one
pytestmark = [pytest.mark.slow, pytest.mark.timeout(4 * 3600)]


def truth(root: Path, name: str) -> list[dict[str, str]]:
    with open(root / "truth" / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def clue_of(certno: str, rule: str, key: bytes) -> str:
    """clue_id as OUTPUTS.md defines it: from person_ref and rule_code only."""
    ref = person_ref(normalise_certno(certno).certno or "", key)
    return hashlib.sha256(f"{ref}|{rule}".encode()).hexdigest()[:16]


def export_rows(folder: Path) -> dict[str, dict[str, str]]:
    """clue_id → row of every risk_list CSV in an export folder."""
    rows: dict[str, dict[str, str]] = {}
    for p in sorted((folder / "risk_list").glob("*.csv")):
        rows.update({r["clue_id"]: r for r in csv.DictReader(p.read_text(encoding="utf-8-sig").splitlines())})
    return rows


def folder_digest(folder: Path) -> dict[str, str]:
    """sha256 per file; the manifest without code_version (a commit between two runs changes it)."""
    out = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("code_version")
    return out | {"manifest.json": json.dumps(manifest, sort_keys=True)}


@dataclass
class Nights:
    env: object
    spark: object
    root: Path
    dates: list[dt.date]
    clue: str  # the clue a supervisor closes
    closed_on: dt.date
    clues: dict[dt.date, dict[str, tuple]] = field(default_factory=dict)  # night → clue_id → (status, first_seen, evidence_date)
    exports: dict[dt.date, dict[str, dict[str, str]]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def nights(tmp_path_factory, spark, pseudonym_key) -> Nights:  # type: ignore[no-untyped-def]
    """Every night of a 4-day city through the real nightly flow; after night 2 a supervisor
    confirms a planted 死亡后继续领取 case (feedback dated night 3)."""
    from lakehouse.synth import generate_city

    root = tmp_path_factory.mktemp("ops")
    generate_city(out=root / "city", corrupt=True, **CITY)
    city = root / "city"
    dates = sorted({dt.date.fromisoformat(p.name) for p in (city / "landing").glob("*/*") if p.is_dir()})
    env = make_env(root, landing=city / "landing")
    planted = next(p for p in truth(city, "planted_risks.csv") if p["rule_code"] == "R01_PAID_AFTER_DEATH"
                   and p["is_decoy"] == "0" and dt.date.fromisoformat(p["detectable_from"]) <= dates[0])
    n = Nights(env, spark, city, dates, clue_of(planted["certno"], "R01_PAID_AFTER_DEATH", pseudonym_key), dates[2])
    for i, day in enumerate(dates):
        if i == 2:  # what the verification team sends back: the clue is confirmed on night 3
            folder = env.paths.landing / "feedback" / day.isoformat()
            folder.mkdir(parents=True)
            (folder / "disposition.csv").write_text(
                f"clue_id,result,verified_on,verifier,note\n{n.clue},CONFIRMED,{day},张建国,已上门核实 死亡\n",
                encoding="utf-8")
        run_nightly(day, env, run_id=f"ops__{day}")
        n.clues[day] = {r.clue_id: (r.status, r.first_seen, r.evidence_date)
                        for r in lake.read(spark, env, "gold.risk_clue").collect()}
        n.exports[day] = export_rows(env.paths.exports / day.isoformat())
    return n


# --- feedback: the clue lifecycle -------------------------------------------------------------


def test_a_confirmed_clue_is_new_then_open_then_closed(nights: Nights) -> None:
    d = nights.dates
    assert nights.clues[d[0]][nights.clue][:2] == ("NEW", d[0])
    assert nights.clues[d[1]][nights.clue][:2] == ("OPEN", d[0])
    assert nights.exports[d[1]][nights.clue]["status"] == "OPEN"
    assert nights.clue not in nights.clues[d[2]]
    assert nights.clue not in nights.exports[d[2]], "a clue closed by feedback leaves the risk list"


def test_a_closed_clue_stays_closed_without_newer_evidence(nights: Nights) -> None:
    for day in nights.dates[3:]:
        history = lake.read(nights.spark, nights.env, "gold.risk_clue_history").where(
            (F.col("run_date") == F.lit(day)) & (F.col("clue_id") == nights.clue)).collect()
        newer = [h for h in history if h.evidence_date > nights.closed_on]
        if newer:  # new evidence after the disposition: back as NEW from this night
            assert nights.clues[day][nights.clue][:2] == ("NEW", day)
        else:
            assert nights.clue not in nights.clues[day] and nights.clue not in nights.exports[day]


def test_the_confirmation_is_a_training_label(nights: Nights) -> None:
    from jobs.feedback import training_labels

    labels = training_labels(lake.read(nights.spark, nights.env, "silver.clue_disposition"), nights.dates[-1])
    assert [(r.clue_id, r.rule_code, r.training_label) for r in labels.collect()] == [
        (nights.clue, "R01_PAID_AFTER_DEATH", "RISK_CONFIRMED")]
    masked = {r.verifier_masked for r in lake.read(nights.spark, nights.env, "silver.clue_disposition").collect()}
    assert masked == {"张*国"}


# --- reconciliation ---------------------------------------------------------------------------


def test_every_delivered_record_is_accounted_for(nights: Nights) -> None:
    rec = lake.read(nights.spark, nights.env, "ops.reconciliation")
    assert {r.run_date for r in rec.select("run_date").distinct().collect()} == set(nights.dates)
    assert rec.where(~F.col("balanced")).count() == 0
    last = rec.where(F.col("run_date") == F.lit(nights.dates[-1]))
    assert {r.bronze_table for r in last.select("bronze_table").distinct().collect()} == set(reconcile.home_tables())
    # a corrupt delivery was rejected whole: no file of it is in the accounting
    for c in truth(nights.root, "corrupt_deliveries.csv"):
        if c["in_landing"] == "1":
            assert last.where((F.col("source") == c["source"]) & (F.col("extract_date") == c["extract_date"])
                              & (F.col("file") == c["file"])).count() == 0


def test_malformed_bank_lines_end_in_quarantine(nights: Nights) -> None:
    quirks = [q for q in truth(nights.root, "quirks.csv") if q["quirk"] == "bank_malformed_line"]
    assert quirks, "the city writes malformed bank lines"
    q = (lake.read(nights.spark, nights.env, "quarantine.records").where(F.col("silver_table") == "bank_txn")
         .where(F.exists("reasons", lambda r: r.startswith("MALFORMED"))).collect())
    raw = [json.loads(r.raw_record)["line"] for r in q]
    initial_load_end = nights.dates[0] - dt.timedelta(days=1)  # later nights' bank deliveries may be rejected
    checked = 0
    for qk in quirks:
        acct, at = qk["key"].split()
        if dt.datetime.strptime(at, "%Y%m%d%H%M%S").date() > initial_load_end:
            continue
        assert any(line.split("|")[0].strip() == acct and f"|{at}|" in line for line in raw), qk["key"]
        checked += 1
    assert checked > 0
    rec = lake.read(nights.spark, nights.env, "ops.reconciliation").where(
        (F.col("run_date") == F.lit(nights.dates[-1])) & (F.col("bronze_table") == "bank__txn"))
    assert rec.agg(F.sum("quarantined_rows")).first()[0] >= len(q)


def test_a_home_table_missing_rows_fails_the_silver_run(nights: Nights, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from jobs import silver_activity
    from jobs.reconcile import ReconciliationFailed

    honest = silver_activity.bank_txns

    def lossy(records):  # type: ignore[no-untyped-def]
        kept, dedup = honest(records)
        return kept.where(F.col("channel") != "ATM"), dedup  # ATM transactions silently lost

    monkeypatch.setattr(silver_activity, "bank_txns", lossy)
    day = nights.dates[-1]
    try:
        with pytest.raises(ReconciliationFailed) as failed:
            run_step("rebuild", day, nights.env, "ops__lossy")
        message = str(failed.value)
        assert "bank/" in message and "txn_" in message and "bank__txn → silver.bank_txn" in message
        assert "medical/" not in message  # only the offending files are named
    finally:
        monkeypatch.undo()
        for step in ("rebuild", "feedback"):  # back to the clean night for the tests after this one
            run_step(step, day, nights.env, "ops__restore")


# --- missing and corrupt deliveries -----------------------------------------------------------


def test_manifest_records_each_sources_watermark_including_stale_ones(nights: Nights) -> None:
    delivered = [r for r in truth(nights.root, "deliveries.csv")
                 if r["status"] == "ok" and r["location"].startswith("landing/")]
    stale = 0
    for day in nights.dates:
        manifest = json.loads((nights.env.paths.exports / day.isoformat() / "manifest.json").read_text("utf-8"))
        for source, mark in manifest["watermarks"].items():
            expected = max(r["extract_date"] for r in delivered if r["source"] == source
                           and r["extract_date"] <= day.isoformat())
            assert mark == expected, (day, source)
            stale += mark < day.isoformat()
    missing = [(s, d) for d in nights.dates for s in ("bank", "civil_affairs")
               if not any(r["source"] == s and r["extract_date"] == d.isoformat() for r in truth(nights.root, "deliveries.csv"))]
    assert missing and stale >= len(missing), "the city has nights without a delivery"


# --- a job that fails half-way ----------------------------------------------------------------


def test_a_failed_run_leaves_the_previous_versions_and_a_rerun_equals_a_clean_run(nights: Nights, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from delta.tables import DeltaTable

    import jobs.export_nightly as export_nightly
    from jobs import silver_build

    env, spark, day = nights.env, nights.spark, nights.dates[-1]
    tables = [f"{p.parent.name}.{p.name}" for p in sorted(env.paths.lake.glob("*/*"))
              if (p / "_delta_log").is_dir() and f"{p.parent.name}.{p.name}" not in AUDIT_TABLES]

    def version(name: str) -> int:
        return DeltaTable.forPath(spark, str(lake.table_path(env, name))).history(1).first().version

    def same_as(name: str, at_version: int) -> bool:
        """The table's current rows equal its rows at `at_version` (Delta time travel)."""
        old = spark.read.format("delta").option("versionAsOf", at_version).load(str(lake.table_path(env, name)))
        now = lake.read(spark, env, name)
        return now.exceptAll(old).isEmpty() and old.exceptAll(now).isEmpty()

    before = {t: version(t) for t in tables}
    clean_export = folder_digest(env.paths.exports / day.isoformat())

    # 1. silver dies inside the Spark job writing silver.bank_txn, after tables before it were written
    @F.udf("string")
    def crash_in_task(acct: str) -> str:
        raise RuntimeError("executor lost while writing")

    real_table = silver_build.SilverWriter.table

    def dying_table(self, name, df, layer="silver"):  # type: ignore[no-untyped-def]
        if name == "bank_txn":
            df = df.withColumn("acct_no", crash_in_task(F.col("acct_no")))
        return real_table(self, name, df, layer)

    monkeypatch.setattr(silver_build.SilverWriter, "table", dying_table)
    with pytest.raises(Exception, match="executor lost"):
        run_step("rebuild", day, env, "ops__dies")  # every table written again
    monkeypatch.undo()
    assert version("silver.bank_txn") == before["silver.bank_txn"], "no commit of a half-written table"
    committed = [t for t in tables if version(t) != before[t]]
    assert committed and all(t.split(".")[0] in ("silver", "restricted") for t in committed), committed
    assert "quarantine.records" not in committed and "ops.reconciliation" not in committed
    # tables the dead run did commit were recomputed from the same inputs: same rows as before
    assert [t for t in committed if not same_as(t, before[t])] == []

    # 2. the export dies after writing some files: the folder of the date is the previous, whole one
    def dying_manifest(folder, body):  # type: ignore[no-untyped-def]
        assert any(folder.rglob("*.csv"))  # files were written somewhere before the crash
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_nightly, "write_manifest", dying_manifest)
    with pytest.raises(RuntimeError, match="disk full"):
        run_step("export", day, env, "ops__dies")
    monkeypatch.undo()
    assert folder_digest(env.paths.exports / day.isoformat()) == clean_export
    assert sorted(p.name for p in env.paths.exports.iterdir()) == sorted(d.isoformat() for d in nights.dates)

    # 3. the re-run completes and equals the clean run
    run_nightly(day, env, run_id="ops__rerun")
    assert folder_digest(env.paths.exports / day.isoformat()) == clean_export
    for t in ("silver.bank_txn", "silver.clue_disposition", "ops.reconciliation", "gold.risk_clue",
              "gold.certification"):
        assert same_as(t, before[t]), t
