"""Who may see what through the real Trino (issue 12): authentication, masks, row filters,
a read-only catalog and the break-glass audit log, on the nightly lake's tables."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from pyspark.sql import functions as F
from trino.exceptions import HttpError, TrinoUserError

from lakehouse import access, lake
from lakehouse.services import trino

pytestmark = pytest.mark.services

ROLES = access.load()
EVERY_USER = sorted(ROLES.users())


def _denied(server: Any, sql: str, user: str) -> str:
    """The error name of a statement that must fail for `user`."""
    with pytest.raises(TrinoUserError) as err:
        server.query(sql, user)
    return str(err.value.error_name)


def _session(server: Any) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # the installation's CA, not the machine's bundle
    session.verify = str(trino.settings(server.env).ca_file)
    return session


# --- authentication -------------------------------------------------------------------------


def test_unauthenticated_requests_are_refused(trino_server: Any) -> None:
    """A user name without a password: 401 over HTTPS, 403 on the internal HTTP port."""
    statement = "SELECT count(*) FROM lakehouse.restricted.identity"
    over_https = _session(trino_server).post(
        f"{trino_server.url}/v1/statement", data=statement, headers={"X-Trino-User": "breakglass"}, timeout=10
    )
    assert over_https.status_code == 401
    internal = trino.settings(trino_server.env).internal_port
    over_http = requests.post(
        f"http://{trino_server.host}:{internal}/v1/statement",
        data=statement,
        headers={"X-Trino-User": "breakglass"},
        timeout=10,
    )
    assert over_http.status_code == 403 and "Authentication over HTTP is not enabled" in over_http.text


@pytest.mark.parametrize("user", ["analyst", "breakglass", "unknown_user"])
def test_wrong_password_is_refused(trino_server: Any, user: str) -> None:
    conn = trino_server.connect(user, password="not-the-password")
    with pytest.raises(HttpError, match="401"):
        conn.cursor().execute("SELECT 1")


def test_only_the_installations_certificate_is_trusted(trino_server: Any) -> None:
    """The server presents the per-installation certificate, which no public CA vouches for."""
    wrong_ca = requests.Session()
    wrong_ca.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        wrong_ca.get(f"{trino_server.url}/v1/info", verify=True, timeout=10)


def test_a_principal_cannot_act_as_another_user(trino_server: Any) -> None:
    import trino as trino_client

    s = trino.settings(trino_server.env)
    conn = trino_client.dbapi.connect(
        host=s.host, port=s.port, user="breakglass", catalog="lakehouse", http_scheme="https",
        auth=trino_client.auth.BasicAuthentication("analyst", trino.trino_auth.password(s.state_dir, "analyst")),
        http_session=_session(trino_server),
    )
    with pytest.raises(TrinoUserError) as err:
        conn.cursor().execute("SELECT count(*) FROM restricted.identity")
    assert err.value.error_name == "PERMISSION_DENIED" and "impersonate" in err.value.message


def test_listens_on_loopback_only(trino_server: Any) -> None:
    pid = int((trino.settings(trino_server.env).state_dir / "trino.pid").read_text())
    server = psutil.Process(pid)
    listening = [
        c.laddr.ip
        for p in [server, *server.children(recursive=True)]
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening, "found no listening socket of the Trino process"
    assert {ip.removeprefix("::ffff:") for ip in listening} == {"127.0.0.1"}


# --- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["analyst", "superset"])
def test_analysts_see_no_restricted_bronze_quarantine_or_ops(trino_server: Any, user: str) -> None:
    schemas = {r[0] for r in trino_server.query("SHOW SCHEMAS FROM lakehouse", user)}
    assert {"gold", "silver"} <= schemas
    assert not schemas & {"restricted", "bronze", "quarantine", "ops"}
    for table in ("restricted.identity", "restricted.clue_disposition"):
        assert _denied(trino_server, f"SELECT * FROM lakehouse.{table} LIMIT 1", user) == "PERMISSION_DENIED"
    # silver tables with diagnoses or free text are not in the analysts' list
    assert _denied(trino_server, "SELECT dise_name FROM lakehouse.silver.medical_settlement LIMIT 1", user) == (
        "PERMISSION_DENIED"
    )


@pytest.mark.parametrize("table", ["gold.person_profile", "silver.person"])
def test_analysts_get_birth_dates_as_the_year_only(trino_server: Any, nightly_lake: Any, table: str) -> None:
    true_years = {
        r["person_ref"]: r["birth_date"]
        for r in lake.read(nightly_lake.spark, nightly_lake.env, table).select("person_ref", "birth_date").collect()
    }
    assert sum(1 for d in true_years.values() if d and (d.month, d.day) != (1, 1)) > 10  # a real test
    rows = trino_server.query(f"SELECT person_ref, birth_date FROM lakehouse.{table}", "analyst")
    assert len(rows) == len(true_years)
    for ref, masked in rows:
        truth = true_years[ref]
        assert masked == (truth.replace(month=1, day=1) if truth else None), ref
    # engineers debugging the pipeline see the day
    exact = trino_server.query(f"SELECT count(*) FROM lakehouse.{table} WHERE day(birth_date) <> 1", "engineer")
    assert exact[0][0] > 0


@pytest.mark.parametrize(
    ("table", "column"),
    [("silver.bank_account", "acct_no"), ("silver.pension_payment", "bank_account"),
     ("silver.card_registry", "card_no"), ("silver.transit_tap", "card_no"), ("silver.medical_insured", "psn_no")],
)
@pytest.mark.parametrize("user", ["analyst", "engineer"])
def test_account_and_card_numbers_are_masked(
    trino_server: Any, nightly_lake: Any, table: str, column: str, user: str
) -> None:
    raw = {
        r[0] for r in lake.read(nightly_lake.spark, nightly_lake.env, table).select(column).distinct().collect() if r[0]
    }
    assert raw, f"{table}.{column} is empty in the nightly lake"
    seen = [r[0] for r in trino_server.query(f"SELECT DISTINCT {column} FROM lakehouse.{table}", user) if r[0]]
    assert seen and all(v.startswith("****") for v in seen)
    assert not set(seen) & raw
    assert {v.removeprefix("****") for v in seen} <= {n[-4:] for n in raw} | {n[-2:] for n in raw}


def test_supervisors_see_their_own_regions_clues_and_certifications(trino_server: Any, nightly_lake: Any) -> None:
    counted = 0
    for table in ("gold.risk_clue", "gold.certification"):
        df = lake.read(nightly_lake.spark, nightly_lake.env, table)
        expected = {r["region"]: r["n"] for r in df.groupBy("region").agg(F.count(F.lit(1)).alias("n")).collect()}
        for region in ROLES.regions:
            user = access.supervisor_user(region)
            rows = trino_server.query(f"SELECT region, count(*) FROM lakehouse.{table} GROUP BY region", user)
            assert rows == ([[region, expected[region]]] if expected.get(region) else []), (user, table)
            counted += expected.get(region, 0)
        assert counted > 0, f"{table} is empty"
    user = access.supervisor_user(ROLES.regions[0])
    for table in ("gold.person_profile", "gold.risk_clue_history", "silver.person"):
        assert _denied(trino_server, f"SELECT count(*) FROM lakehouse.{table}", user) == "PERMISSION_DENIED"


@pytest.mark.parametrize("user", EVERY_USER)
def test_the_catalog_is_read_only_to_every_user(trino_server: Any, user: str) -> None:
    for statement in (
        # written so that even a broken rule would change no data
        "INSERT INTO lakehouse.gold.fund_monthly SELECT * FROM lakehouse.gold.fund_monthly WHERE 1 = 0",
        "DELETE FROM lakehouse.gold.fund_monthly WHERE 1 = 0",
        "UPDATE lakehouse.gold.fund_monthly SET payers = payers WHERE 1 = 0",
        "CREATE TABLE lakehouse.gold.copy_by_user AS SELECT * FROM lakehouse.gold.fund_monthly WHERE 1 = 0",
    ):
        assert _denied(trino_server, statement, user) == "PERMISSION_DENIED", (user, statement)


# --- audit ----------------------------------------------------------------------------------


def _audit_records(server: Any, tag: str, timeout: float = 30) -> list[dict[str, Any]]:
    """Audit-log lines whose statement carries `tag` (the listener posts shortly after the query)."""
    log_file = trino.settings(server.env).audit_log
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_file.exists():
            found = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines() if tag in line]
            if found:
                return found
        time.sleep(0.5)
    return []


def test_breakglass_reads_are_in_the_audit_log(trino_server: Any) -> None:
    tag = f"audit-{uuid.uuid4().hex[:12]}"
    rows = trino_server.query(f"SELECT count(*) FROM lakehouse.restricted.identity -- {tag}", "breakglass")
    assert rows[0][0] > 0
    (record,) = _audit_records(trino_server, tag)
    assert record["user"] == record["principal"] == "breakglass"
    assert record["state"] == "FINISHED" and record["sensitive"] is True
    assert record["tables"] == ["lakehouse.restricted.identity"]
    assert record["query_id"] and record["end_time"]
    mode = trino.settings(trino_server.env).audit_log.stat().st_mode & 0o777
    assert mode & 0o007 == 0, oct(mode)  # nothing for other users of the machine


def test_denied_attempts_on_restricted_are_audited(trino_server: Any) -> None:
    tag = f"audit-{uuid.uuid4().hex[:12]}"
    _denied(trino_server, f"SELECT certno FROM lakehouse.restricted.identity -- {tag}", "analyst")
    (record,) = _audit_records(trino_server, tag)
    assert record["user"] == "analyst" and record["error"] == "PERMISSION_DENIED" and record["sensitive"] is True


def test_auditor_sees_every_users_queries_but_no_restricted_rows(trino_server: Any) -> None:
    tag = f"audit-{uuid.uuid4().hex[:12]}"
    trino_server.query(f"SELECT count(*) FROM lakehouse.gold.fund_monthly -- {tag}", "analyst")
    rows = trino_server.query(
        f"SELECT \"user\" FROM system.runtime.queries WHERE query LIKE '%{tag}%' AND \"user\" <> 'auditor'", "auditor"
    )
    assert rows == [["analyst"]]
    assert _denied(trino_server, "SELECT count(*) FROM system.runtime.queries", "analyst") == "PERMISSION_DENIED"


def test_trino_processes_have_no_pipeline_secret(trino_server: Any) -> None:
    import os

    assert os.environ.get("LAKEHOUSE_PSEUDONYM_KEY"), "the test session sets a key: it must not reach Trino"
    state = trino.settings(trino_server.env).state_dir
    for pid_file in ("trino.pid", "trino-audit.pid"):
        pid = int((state / pid_file).read_text())
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        names = {item.split(b"=", 1)[0] for item in environ if item}
        assert b"LAKEHOUSE_PSEUDONYM_KEY" not in names, pid_file
        assert not {n for n in names if b"PASSWORD" in n or b"SECRET" in n}, pid_file
