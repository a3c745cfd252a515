"""Roles as data (conf/access.yaml) rendered into Trino's file-based access control, and the
per-installation credentials behind them; no server needed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from lakehouse import access
from lakehouse.services import process, trino_auth


def test_every_role_of_issue_12_is_there_with_a_supervisor_per_region() -> None:
    roles = access.load()
    assert {"engineer", "analyst", "supervisor", "auditor", "breakglass"} <= set(roles.roles)
    users = roles.users()
    assert {access.supervisor_user(r) for r in roles.regions} <= set(users)
    assert len(roles.regions) == 6
    assert roles.audited_users() == ["breakglass"]


def test_rules_grant_no_data_writes_to_anyone() -> None:
    doc = access.rules_document(access.load(), views=["coverage_by_region"])
    privileges = {p for rule in doc["tables"] for p in rule["privileges"]}
    assert not privileges & {"INSERT", "DELETE", "UPDATE"}
    owned = [r for r in doc["tables"] if "OWNERSHIP" in r["privileges"]]
    assert [r.get("table") for r in owned] == ["coverage_by_region"]  # views of sql/views only
    assert doc["procedures"] == []  # no register_table / unregister_table through Trino
    assert all(not s.get("owner") for s in doc["schemas"])


def test_only_breakglass_reads_restricted() -> None:
    doc = access.rules_document(access.load())
    readers = [r.get("group") or r.get("user") for r in doc["tables"] if r.get("schema") == "restricted"]
    assert readers == ["breakglass"]


def test_masks_and_row_filters_reach_the_rules() -> None:
    doc = access.rules_document(access.load())
    analyst = [r for r in doc["tables"] if r.get("group") == "analyst" and r.get("schema") == "gold"][0]
    masks = {c["name"]: c["mask"] for c in analyst["columns"]}
    assert masks["birth_date"] == "date_trunc('year', birth_date)"
    assert masks["acct_no"].startswith("concat('****'")
    filters = {r["user"]: r["filter"] for r in doc["tables"] if r.get("user", "").startswith("supervisor_")}
    assert filters["supervisor_330102"] == "region = '330102'"
    assert len(filters) == 6


def test_a_role_naming_an_unknown_mask_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown masks"):
        access.parse({"roles": {"a": {"users": ["a"], "masks": ["nope"]}, "r": {"users": ["r"], "registers": True}}})


def test_credentials_are_created_once_owner_only_and_bcrypt(tmp_path: Path) -> None:
    roles = access.load()
    db = trino_auth.ensure_passwords(tmp_path, roles)
    first = trino_auth.password(tmp_path, "analyst")
    lines = dict(line.split(":", 1) for line in db.read_text().splitlines())
    assert set(lines) == set(roles.users())
    assert all(h.startswith("$2y$10$") and len(h) == 60 for h in lines.values())
    trino_auth.ensure_passwords(tmp_path, roles)
    assert trino_auth.password(tmp_path, "analyst") == first  # kept across starts
    keystore, ca = trino_auth.ensure_tls(tmp_path, "127.0.0.1")
    for path in (db, keystore, tmp_path / "auth" / "credentials.json", tmp_path / "auth"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert "PRIVATE KEY" in keystore.read_text() and "PRIVATE KEY" not in ca.read_text()


def test_the_bcrypt_hash_verifies(tmp_path: Path) -> None:

    hashed = trino_auth.bcrypt_hash("s3cret")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt as c

        assert c.crypt("s3cret", "$2b$" + hashed[4:]) == "$2b$" + hashed[4:]
        assert c.crypt("wrong", "$2b$" + hashed[4:]) != "$2b$" + hashed[4:]


def test_servers_do_not_inherit_the_pseudonymisation_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_PSEUDONYM_KEY", "k")
    monkeypatch.setenv("SUPERSET_ADMIN_PASSWORD", "p")
    clean = process.inherited_environ(clean=True)
    assert "LAKEHOUSE_PSEUDONYM_KEY" not in clean and "SUPERSET_ADMIN_PASSWORD" not in clean
    assert clean["PATH"] == os.environ["PATH"]
    assert process.inherited_environ(clean=False)["LAKEHOUSE_PSEUDONYM_KEY"] == "k"


def test_rules_are_valid_json_for_trino() -> None:
    text = json.dumps(access.rules_document(access.load(), views=["a", "b"]))
    assert json.loads(text)["catalogs"][-1] == {"catalog": ".*", "allow": "none"}


def test_airflow_ui_users_per_role(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lakehouse.services import airflow
    from tests.conftest import make_env

    monkeypatch.setenv("AIRFLOW_ADMIN_USER", "admin")
    monkeypatch.setenv("AIRFLOW_ADMIN_PASSWORD", "admin-secret")
    env = airflow.with_airflow(make_env(tmp_path), home=tmp_path / "airflow")
    assert airflow.auth_users(env) == "admin:admin,engineer:op,viewer:viewer"
    first = airflow.user_password(env, "viewer")
    assert len(first) > 16 and airflow.user_password(env, "viewer") == first  # kept
    stored = json.loads(airflow.settings(env).passwords_file.read_text())
    assert stored["admin"] == "admin-secret" and set(stored) == {"admin", "engineer", "viewer"}
    assert stat.S_IMODE(airflow.settings(env).passwords_file.stat().st_mode) == 0o600
