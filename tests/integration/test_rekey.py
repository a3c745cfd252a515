"""`lakehouse rekey` (issue 12, point 6): a key rotation rewrites every person_ref and clue_id, and
the next night gives the same clues (statuses, first_seen, dispositions) under the new ids.

A small lake written by Spark the way the nightly steps write it: identities, two nights of
clue history (one clue closed by a disposition), the open clues, a person table. After the
rekey, "the next night" is the rules' lifecycle over tonight's hits computed with the new key
plus the feedback step re-reading the dispositions, whose file still names the old clue id.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs import feedback
from jobs.rules_run import with_lifecycle
from lakehouse import keyguard, lake, rekey
from lakehouse.identity import person_ref
from tests.conftest import make_env
from tests.integration.test_feedback import write_disposition

OLD, NEW = b"old-key-0123456789", b"new-key-9876543210"
N1, N2, N3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)
CERTNOS = ["330102195001011234", "33010219600202567X", "330105197003039012"]  # check digits irrelevant here
HISTORY_SCHEMA = ("clue_id string, rule_code string, risk_type string, person_ref string, region string, score int, "
                  "amount_at_risk decimal(18,2), evidence string, evidence_date date, suggested_action string, "
                  "run_date date")


def _hits(spark, key: bytes, night: dt.date):  # type: ignore[no-untyped-def]
    """One night's rule hits for the three persons under `key` (R01 for two, R05 for one)."""
    rows = []
    for certno, rule in zip(CERTNOS, ["R01_PAID_AFTER_DEATH", "R01_PAID_AFTER_DEATH", "R05_CARD_AFTER_DEATH"],
                            strict=True):
        ref = person_ref(certno, key)
        rows.append((rekey.clue_id(ref, rule), rule, "t", ref, certno[:6], 100, None, "x", N1, "上门核查", night))
    return spark.createDataFrame(rows, HISTORY_SCHEMA)


def _state(spark, env, night: dt.date, key: bytes) -> dict[tuple[str, str], tuple[str, dt.date]]:  # type: ignore[no-untyped-def]
    """(certno, rule) → (status, first_seen) of `night`'s open clues, with the key's refs resolved."""
    by_ref = {person_ref(c, key): c for c in CERTNOS}
    history = lake.read(spark, env, "gold.risk_clue_history")
    dispositions = lake.read(spark, env, "silver.clue_disposition")
    return {(by_ref[r.person_ref], r.rule_code): (r.status, r.first_seen)
            for r in with_lifecycle(history, dispositions, night).collect()}


@pytest.fixture()
def rekeyed_night(tmp_path: Path, spark, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    env = make_env(tmp_path, landing=tmp_path / "landing")
    identity = spark.createDataFrame([(person_ref(c, OLD), c, "某某") for c in CERTNOS],
                                     "person_ref string, certno string, name string")
    lake.overwrite(identity, env, "restricted.identity")
    lake.overwrite(identity.select("person_ref", F.lit("330102").alias("region")), env, "silver.person")
    for night in (N1, N2):
        lake.replace_where(_hits(spark, OLD, night), env, "gold.risk_clue_history", f"run_date = DATE'{night}'",
                           partition_by=["run_date"])
    closed = rekey.clue_id(person_ref(CERTNOS[1], OLD), "R01_PAID_AFTER_DEATH")
    write_disposition(env.paths.landing, N2, [f"{closed},DISMISSED,{N2},张三,已核实"])
    feedback.run(N2, env, "n2")
    lake.overwrite(with_lifecycle(lake.read(spark, env, "gold.risk_clue_history"),
                                  lake.read(spark, env, "silver.clue_disposition"), N2), env, "gold.risk_clue")
    keyguard.record(env, OLD, "test")
    before = _state(spark, env, N2, OLD)

    counts = rekey.rekey(env, OLD, NEW)

    # the next night under the new key: tonight's hits, then feedback re-reads the old file
    lake.replace_where(_hits(spark, NEW, N3), env, "gold.risk_clue_history", f"run_date = DATE'{N3}'",
                       partition_by=["run_date"])
    feedback.run(N3, env, "n3")
    return env, spark, before, counts, closed


def test_the_next_night_keeps_statuses_first_seen_and_closures(rekeyed_night) -> None:  # type: ignore[no-untyped-def]
    env, spark, before, _, _ = rekeyed_night
    assert before == {(CERTNOS[0], "R01_PAID_AFTER_DEATH"): ("OPEN", N1),
                      (CERTNOS[2], "R05_CARD_AFTER_DEATH"): ("OPEN", N1)}  # the dismissed clue left the list
    assert _state(spark, env, N3, NEW) == before


def test_every_ref_and_clue_id_is_the_new_keys(rekeyed_night) -> None:  # type: ignore[no-untyped-def]
    env, spark, _, counts, closed = rekeyed_night
    new_refs = {person_ref(c, NEW) for c in CERTNOS}
    for table in ("restricted.identity", "silver.person", "gold.risk_clue_history", "gold.risk_clue",
                  "silver.clue_disposition"):
        refs = {r[0] for r in lake.read(spark, env, table).select("person_ref").collect()}
        assert refs and refs <= new_refs, table
    assert {"restricted.identity", "gold.risk_clue_history", "silver.clue_disposition"} <= set(counts)
    history = lake.read(spark, env, "gold.risk_clue_history").collect()
    assert all(r.clue_id == rekey.clue_id(r.person_ref, r.rule_code) for r in history)
    (disposition,) = lake.read(spark, env, "silver.clue_disposition").collect()
    assert disposition.clue_id == rekey.clue_id(person_ref(CERTNOS[1], NEW), "R01_PAID_AFTER_DEATH") != closed
    assert keyguard.recorded(env) == keyguard.fingerprint(NEW)
    with pytest.raises(keyguard.WrongKey):
        keyguard.check(env, OLD)


def test_rekey_refuses_a_wrong_old_key_and_writes_nothing(tmp_path: Path, spark) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tmp_path)
    lake.overwrite(spark.createDataFrame([(person_ref(CERTNOS[0], OLD), CERTNOS[0])], "person_ref string, certno string"),
                   env, "restricted.identity")
    keyguard.record(env, OLD, "test")
    with pytest.raises(rekey.RekeyRefused, match="old key"):
        rekey.rekey(env, b"not-the-old-key!!", NEW)
    assert keyguard.recorded(env) == keyguard.fingerprint(OLD)
    assert lake.read(spark, env, "restricted.identity").first().person_ref == person_ref(CERTNOS[0], OLD)
