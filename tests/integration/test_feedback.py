"""核查反馈 (OUTPUTS.md "Feedback from community verification"): dispositions written the way a
supervisor would are loaded, bad rows are quarantined with reasons, and a dispositioned clue
closes until new evidence after the disposition date."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs import feedback
from jobs.rules_run import with_lifecycle
from lakehouse import lake
from tests.conftest import make_env

D1, D2 = dt.date(2026, 11, 20), dt.date(2026, 11, 21)
KNOWN, OTHER = "0123456789abcdef", "fedcba9876543210"
HEADER = "clue_id,result,verified_on,verifier,note"


def write_disposition(landing: Path, day: dt.date, lines: list[str], manifest: bool = False) -> Path:
    """A supervisor's disposition file (optionally with a source-style manifest)."""
    folder = landing / "feedback" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    data = ("\n".join([HEADER, *lines]) + "\n").encode("utf-8")
    (folder / "disposition.csv").write_bytes(data)
    if manifest:
        body = {"source": "feedback", "extract_date": day.isoformat(), "sequence": 1,
                "files": [{"name": "disposition.csv", "rows": len(lines), "sha256": hashlib.sha256(data).hexdigest()}]}
        (folder / "_MANIFEST.json").write_text(json.dumps(body), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def fed_lake(tmp_path_factory, spark):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("feedback")
    env = make_env(root, landing=root / "landing")
    history = spark.createDataFrame(
        [(KNOWN, "R01_PAID_AFTER_DEATH", "a" * 16, D1), (OTHER, "M01_SURVIVAL_SUSPECT", "b" * 16, D1)],
        "clue_id string, rule_code string, person_ref string, run_date date")
    lake.overwrite(history, env, "gold.risk_clue_history")
    write_disposition(env.paths.landing, D1, [
        f"{KNOWN},CONFIRMED,2026-11-20,张三丰,已上门核实 死亡",                  # good
        f"{OTHER.upper()},ALIVE_VERIFIED,2026/11/20,李四,本人健在",              # good: case and date spelling
        f"{OTHER},MAYBE,2026-11-20,王五,",                                         # unknown result
        f"{KNOWN},DISMISSED,20-11-2026x,赵六,",                                    # bad date
        "1111111111111111,DISMISSED,2026-11-20,钱七,",                             # clue never listed
        f"{KNOWN},DISMISSED,2026-12-01,孙八,",                                      # verified after delivery
        f"{KNOWN},CONFIRMED",                                                      # malformed line
        f"{KNOWN},DISMISSED,2026-11-20,冒名者,伪造",                               # not on the verifier roll
    ])
    write_disposition(env.paths.landing, D2, [f"{OTHER},DISMISSED,2026-11-21,周九,复核"], manifest=True)
    (env.paths.landing / "feedback" / "2026-11-22").mkdir()  # a date after the run date: not read
    feedback.run(D2, env, "test")
    return env, spark


def test_valid_dispositions_reach_silver_with_masked_verifier_and_labels(fed_lake) -> None:  # type: ignore[no-untyped-def]
    env, spark = fed_lake
    rows = {(r.clue_id, r.result, r.verified_on, r.verifier_masked, r.training_label, r.person_ref)
            for r in lake.read(spark, env, "silver.clue_disposition").collect()}
    assert rows == {
        (KNOWN, "CONFIRMED", D1, "张*丰", "RISK_CONFIRMED", "a" * 16),
        (OTHER, "ALIVE_VERIFIED", D1, "李*", "ALIVE", "b" * 16),
        (OTHER, "DISMISSED", D2, "周*", None, "b" * 16),
    }
    restricted = {r.verifier for r in lake.read(spark, env, "restricted.clue_disposition").collect()}
    assert restricted == {"张三丰", "李四", "周九"}
    silver_text = " ".join(str(r) for r in lake.read(spark, env, "silver.clue_disposition").collect())
    assert "张三丰" not in silver_text and "本人健在" not in silver_text


def test_bad_dispositions_are_quarantined_with_reasons(fed_lake) -> None:  # type: ignore[no-untyped-def]
    env, spark = fed_lake
    q = lake.read(spark, env, "quarantine.records").where(F.col("silver_table") == "clue_disposition")
    reasons = {r._row: r.reasons for r in q.collect()}
    assert reasons == {4: ["UNKNOWN_RESULT:MAYBE"], 5: ["BAD_DATE:verified_on"], 6: ["UNKNOWN_CLUE_ID"],
                       7: ["FUTURE_DATE:verified_on"], 8: ["MALFORMED:FIELD_COUNT_2_NOT_5"], 9: ["UNKNOWN_VERIFIER"]}


def test_each_accepted_disposition_is_audited_once_with_its_file_and_verifier(fed_lake) -> None:  # type: ignore[no-untyped-def]
    env, _ = fed_lake
    files = {d: hashlib.sha256((env.paths.landing / "feedback" / d.isoformat() / "disposition.csv").read_bytes())
             .hexdigest() for d in (D1, D2)}
    audit = lake.read_arrow(env, feedback.AUDIT).to_pylist()
    got = {(r["extract_date"], r["row"], r["clue_id"], r["result"], r["verifier"], r["verifier_id"], r["file_sha256"])
           for r in audit}
    assert got == {
        (D1, 2, KNOWN, "CONFIRMED", "张三丰", "V330105001", files[D1]),
        (D1, 3, OTHER, "ALIVE_VERIFIED", "李四", "V330108001", files[D1]),
        (D2, 2, OTHER, "DISMISSED", "周九", "V330109001", files[D2]),
    } and len(audit) == 3
    assert feedback.run(D2, env, "test-again")["newly_audited"] == 0  # a re-run audits nothing twice
    assert len(lake.read_arrow(env, feedback.AUDIT).to_pylist()) == 3


def test_training_labels_are_the_latest_labelled_outcome(fed_lake) -> None:  # type: ignore[no-untyped-def]
    env, spark = fed_lake
    labels = feedback.training_labels(lake.read(spark, env, "silver.clue_disposition"), D2).collect()
    # OTHER was found alive on D1, then dismissed on D2: its latest outcome is no label
    assert [(r.clue_id, r.training_label) for r in labels] == [(KNOWN, "RISK_CONFIRMED")]


def test_a_corrupt_feedback_delivery_is_quarantined_whole(tmp_path, spark) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tmp_path, landing=tmp_path / "landing")
    folder = write_disposition(env.paths.landing, D1, [f"{KNOWN},CONFIRMED,2026-11-20,张三,"], manifest=True)
    (folder / "disposition.csv").write_bytes((folder / "disposition.csv").read_bytes() + b"x")
    feedback.run(D1, env, "test")
    q = lake.read(spark, env, "quarantine.records").where(F.col("silver_table") == "clue_disposition").collect()
    assert len(q) == 1 and q[0].reasons[0].startswith("MALFORMED:UNREADABLE_FILE") and "sha256" in q[0].reasons[0]
    assert lake.read(spark, env, "silver.clue_disposition").count() == 0


def test_a_closed_clue_comes_back_new_only_with_evidence_after_the_disposition(spark) -> None:  # type: ignore[no-untyped-def]
    nights = [D1 + dt.timedelta(days=i) for i in range(5)]
    # the clue is hit every night; its evidence moves on only on the last night
    evidence = {nights[0]: D1, nights[1]: D1, nights[2]: D1, nights[3]: D1, nights[4]: nights[4]}
    history = spark.createDataFrame(
        [(KNOWN, "R05", "a" * 16, "330102", 100, None, "x", evidence[n], "上门核查", n) for n in nights],
        "clue_id string, rule_code string, person_ref string, region string, score int, "
        "amount_at_risk decimal(18,2), evidence string, evidence_date date, suggested_action string, run_date date",
    ).withColumn("risk_type", F.lit("t"))
    dispositions = spark.createDataFrame([(KNOWN, nights[2])], "clue_id string, verified_on date")

    def status(night: dt.date) -> list[tuple]:
        return [(r.status, r.first_seen) for r in with_lifecycle(history, dispositions, night).collect()]

    assert status(nights[0]) == [("NEW", nights[0])]
    assert status(nights[1]) == [("OPEN", nights[0])]
    assert status(nights[2]) == []          # closed on the verification date
    assert status(nights[3]) == []          # no new evidence: stays closed
    assert status(nights[4]) == [("NEW", nights[4])]
