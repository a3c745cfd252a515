"""Roles as data: conf/access.yaml → Trino's file-based access control and group file.

Each role is a group of users with the tables it may read, column masks and an optional row
filter. `rules_document` renders them into the rules Trino evaluates (first matching rule wins
per section, no match means denied); `groups_text` into the file group provider's
`group:user,user` lines. Nobody gets INSERT/UPDATE/DELETE: the catalog is read-only to every
user, the pipeline writes through Spark. Only the service user of a role with `registers`
registers tables and creates views (ownership, no data privileges beyond gold reads for views).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from lakehouse.config import CONF_DIR

ACCESS_FILE = CONF_DIR / "access.yaml"
CATALOG = "lakehouse"


@dataclass(frozen=True)
class Mask:
    """One masking rule: the columns it applies to and a type-preserving SQL expression."""

    name: str
    columns: tuple[str, ...]
    expression: str

    def sql(self, column: str) -> str:
        return self.expression.format(column=column)


@dataclass(frozen=True)
class Role:
    """A role of conf/access.yaml (its name is also the Trino group of its users)."""

    name: str
    description: str
    users: tuple[str, ...]
    read: dict[str, str] = field(default_factory=dict)
    masks: tuple[str, ...] = ()
    row_filter: str | None = None
    per_region: bool = False
    sees_all_queries: bool = False
    audited: bool = False
    registers: bool = False


@dataclass(frozen=True)
class Access:
    """Every role, mask and audited schema, validated on load."""

    roles: dict[str, Role]
    masks: dict[str, Mask]
    regions: tuple[str, ...]
    audited_schemas: tuple[str, ...]
    superset_users: dict[str, tuple[str, ...]] = field(default_factory=dict)  # user → Superset roles
    airflow_users: dict[str, str] = field(default_factory=dict)  # user → Airflow simple auth manager role

    def users(self) -> dict[str, str]:
        """user → role, supervisors expanded to one user per region."""
        out: dict[str, str] = {}
        for role in self.roles.values():
            for user in role.users:
                if user in out:
                    raise ValueError(f"user {user!r} is in roles {out[user]!r} and {role.name!r}")
                out[user] = role.name
        return out

    def role_of(self, user: str) -> Role:
        return self.roles[self.users()[user]]

    def audited_users(self) -> list[str]:
        return sorted(u for u, r in self.users().items() if self.roles[r].audited)


def supervisor_user(region: str) -> str:
    return f"supervisor_{region}"


def _role(name: str, doc: dict[str, Any], regions: tuple[str, ...], masks: dict[str, Mask]) -> Role:
    per_region = bool(doc.get("per_region"))
    users = tuple(supervisor_user(r) for r in regions) if per_region else tuple(doc.get("users") or ())
    if not users:
        raise ValueError(f"conf/access.yaml: role {name!r} has no users")
    unknown = set(doc.get("masks") or ()) - set(masks)
    if unknown:
        raise ValueError(f"conf/access.yaml: role {name!r} names unknown masks {sorted(unknown)}")
    if per_region and "{region}" not in str(doc.get("row_filter", "")):
        raise ValueError(f"conf/access.yaml: per-region role {name!r} needs a row_filter with {{region}}")
    return Role(
        name=name,
        description=str(doc.get("description", "")),
        users=users,
        read={str(k): str(v) for k, v in (doc.get("read") or {}).items()},
        masks=tuple(doc.get("masks") or ()),
        row_filter=doc.get("row_filter"),
        per_region=per_region,
        sees_all_queries=bool(doc.get("sees_all_queries")),
        audited=bool(doc.get("audited")),
        registers=bool(doc.get("registers")),
    )


def parse(doc: dict[str, Any]) -> Access:
    """Validate one access document (the content of conf/access.yaml)."""
    masks = {
        name: Mask(name, tuple(m["columns"]), str(m["expression"]))
        for name, m in (doc.get("masks") or {}).items()
    }
    regions = tuple(str(r) for r in doc.get("regions") or ())
    roles = {name: _role(name, r or {}, regions, masks) for name, r in (doc.get("roles") or {}).items()}
    if sum(r.registers for r in roles.values()) != 1:
        raise ValueError("conf/access.yaml: exactly one role registers tables (`registers: true`)")
    superset_users = {str(u): tuple(d.get("roles") or ()) for u, d in (doc.get("superset") or {}).items()}
    airflow_users = {str(u): str(d["role"]) for u, d in (doc.get("airflow") or {}).items()}
    if set(airflow_users.values()) - {"viewer", "user", "op", "admin"}:
        raise ValueError("conf/access.yaml: Airflow roles are viewer, user, op or admin")
    access = Access(roles, masks, regions, tuple((doc.get("audit") or {}).get("schemas") or ()), superset_users,
                    airflow_users)
    access.users()  # a user in two roles is an error
    return access


@cache
def load(path: Path = ACCESS_FILE) -> Access:
    """conf/access.yaml, parsed and validated."""
    return parse(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def registrar(access: Access) -> str:
    """The service user that registers tables and creates views."""
    return next(r for r in access.roles.values() if r.registers).users[0]


def _mask_columns(access: Access, role: Role) -> list[dict[str, str]]:
    # a mask names columns, not tables: a column a table lacks is never looked up
    return [
        {"name": column, "mask": access.masks[m].sql(column)}
        for m in role.masks
        for column in access.masks[m].columns
    ]


def _table_rules(access: Access, views: Sequence[str]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for role in access.roles.values():
        if role.registers:
            # views are created (and run, as definer) by this user: it reads gold through the
            # analysts' masks; elsewhere ownership only, to register/unregister and show DDL
            analyst_masks = sorted({m for r in access.roles.values() for m in r.masks})
            columns = _mask_columns(access, Role("views", "", ("-",), masks=tuple(analyst_masks)))
            # tables are registered in the metastore's files, not through Trino (trino_metastore):
            # this user owns the names of sql/views only, so it can create and replace those
            # views but never create or drop a table
            if views:
                rules.append({"group": role.name, "catalog": CATALOG, "schema": "gold", "table": "|".join(views),
                              "privileges": ["SELECT", "GRANT_SELECT", "OWNERSHIP"], "columns": columns})
            rules.append({"group": role.name, "catalog": CATALOG, "schema": "gold",
                          "privileges": ["SELECT", "GRANT_SELECT"], "columns": columns})
            continue
        columns = _mask_columns(access, role)
        for user in role.users if role.per_region else (None,):
            for schema, tables in role.read.items():
                rule: dict[str, Any] = {"catalog": CATALOG, "schema": schema, "table": tables,
                                        "privileges": ["SELECT"]}
                rule.update({"user": user} if user else {"group": role.name})
                if columns:
                    rule["columns"] = columns
                if role.row_filter:
                    region = user.removeprefix("supervisor_") if user else ""
                    rule["filter"] = role.row_filter.format(region=region)
                rules.append(rule)
    # BI tools list catalogs, schemas and columns through system.jdbc / system.metadata
    rules.append({"catalog": "system", "schema": "jdbc|metadata", "privileges": ["SELECT"]})
    for role in access.roles.values():
        if role.sees_all_queries:
            rules.append({"group": role.name, "catalog": "system", "schema": "runtime",
                          "table": "queries", "privileges": ["SELECT"]})
    rules.append({"privileges": []})
    return rules


def rules_document(access: Access, views: Sequence[str] = ()) -> dict[str, Any]:
    """Trino file-based system access control rules for `access`; `views` are the names of the
    gold views the registrar creates (sql/views)."""
    reg = next(r for r in access.roles.values() if r.registers).name
    known = "|".join(sorted(access.roles))
    watchers = [r.name for r in access.roles.values() if r.sees_all_queries]
    return {
        "catalogs": [
            {"group": reg, "catalog": CATALOG, "allow": "all"},
            {"group": known, "catalog": f"{CATALOG}|system", "allow": "read-only"},
            {"catalog": ".*", "allow": "none"},
        ],
        "schemas": [{"schema": ".*", "owner": False}],
        "tables": _table_rules(access, views),
        "procedures": [],
        "functions": [],
        # this section matches users, not groups
        "system_information": [
            {"user": "|".join(u for w in watchers for u in access.roles[w].users), "allow": ["read"]}
        ] if watchers else [],
        # a principal may act as itself only (no X-Trino-User other than the authenticated one)
        "impersonation": [{"original_user": ".*", "new_user": ".*", "allow": False}],
        "queries": (
            [{"group": "|".join(watchers), "allow": ["execute", "view"]}] if watchers else []
        ) + [{"allow": ["execute"]}],
    }


def groups_text(access: Access) -> str:
    """The file group provider's content: one `role:user,user` line per role."""
    return "".join(f"{r.name}:{','.join(r.users)}\n" for r in access.roles.values())
