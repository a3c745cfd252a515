"""Local Apache Superset over Trino: its own virtualenv, setup, start/stop, dashboards as code.

Superset 6.1.0 runs from its own virtualenv (scripts/setup_superset.sh, keyed by the hash of
requirements/superset.lock) with conf/superset/superset_config.py. Everything it writes lives
in the environment's `superset.home`:

    <home>/superset.db    SQLite metadata database (users, database connection, dashboards)
    <home>/superset.log   gunicorn output; superset.pid its process
    <home>/.setup         what `setup` last did (skipped while admin and versions are unchanged)

Dashboards are YAML bundles under conf/superset/dashboards/<name>/ in Superset's export
format. `import_dashboards` zips each bundle with the environment's Trino URI
(trino://superset@HOST:PORT/lakehouse) and imports it through /api/v1/assets/import/, which
overwrites everything matched by UUID; `export_dashboard` writes a bundle back from the UI.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.cookiejar
import io
import json
import logging
import os
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from lakehouse.config import CACHE_DIR, CONF_DIR, REPO_ROOT, Env
from lakehouse.permissions import restrict_umask
from lakehouse.secrets import get_secret
from lakehouse.services import process, trino_auth
from lakehouse.services import trino as trino_service

log = logging.getLogger(__name__)

_NAME = "superset"
SUPERSET_CONF = CONF_DIR / "superset"
CONFIG_FILE = SUPERSET_CONF / "superset_config.py"
DASHBOARDS_DIR = SUPERSET_CONF / "dashboards"
LOCK_FILE = REPO_ROOT / "requirements" / "superset.lock"
SETUP_SCRIPT = REPO_ROOT / "scripts" / "setup_superset.sh"
TRINO_CATALOG = "lakehouse"
TRINO_USER = "superset"
PASSWORD_MASK = "XXXXXXXXXX"  # superset.constants.PASSWORD_MASK
FUND_DASHBOARD = "fund_income_expenditure"
FORECAST_DASHBOARD = "fund_forecast"  # 基金预测: reads the monthly forecast tables (lakehouse forecast)
# The database URI as written in the bundles; `build_bundle` replaces it per environment.
BUNDLE_URI = f"trino://{TRINO_USER}@127.0.0.1:18080/{TRINO_CATALOG}"
# gunicorn: 2 cores here; threads serve the dashboard's parallel chart requests.
WORKERS = 2
THREADS = 4


@dataclass(frozen=True)
class SupersetSettings:
    """Where one environment's Superset listens and keeps its state."""

    host: str
    port: int
    home: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.home / f"{_NAME}.log"

    @property
    def pid_file(self) -> Path:
        return self.home / f"{_NAME}.pid"


def settings(env: Env) -> SupersetSettings:
    """The `superset:` section of the environment (relative home is relative to the repository)."""
    conf = env.services.get("superset")
    if not conf:
        raise RuntimeError(f"environment {env.name!r} has no `superset:` section in conf/env")
    home = Path(os.path.expandvars(str(conf.get("home", ".local/superset")))).expanduser()
    if not home.is_absolute():
        home = (REPO_ROOT / home).resolve()
    return SupersetSettings(host=str(conf.get("host", "127.0.0.1")), port=int(conf.get("port", 18088)), home=home)


def with_superset(env: Env, port: int | None = None, home: Path | None = None) -> Env:
    """A copy of `env` whose Superset uses another port and/or home (tests, a second server)."""
    conf = dict(env.services.get("superset", {}))
    if port is not None:
        conf["port"] = port
    if home is not None:
        conf["home"] = str(home)
    return replace(env, services={**env.services, "superset": conf})


# --- installation ---------------------------------------------------------------------------


def venv_dir() -> Path:
    """Superset's virtualenv, keyed like scripts/setup_superset.sh by the lock file's hash."""
    key = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()[:12]
    return CACHE_DIR / "venvs" / f"superset-{key}"


def ensure_installed() -> Path:
    """Run scripts/setup_superset.sh (a no-op when the virtualenv is complete); returns the venv."""
    venv = venv_dir()
    if not (venv / ".complete").exists():
        log.info("installing Superset's virtualenv (scripts/setup_superset.sh)")
        subprocess.run(["bash", str(SETUP_SCRIPT)], check=True, cwd=REPO_ROOT)
    if not (venv / "bin" / "superset").exists():
        raise RuntimeError(f"no Superset in {venv}: run `make setup-superset`")
    return venv


def process_env(env: Env) -> dict[str, str]:
    """Environment variables of every Superset process (server and CLI) of this environment."""
    s = settings(env)
    venv = venv_dir()
    return {
        "SUPERSET_CONFIG_PATH": str(CONFIG_FILE),
        "SUPERSET_HOME": str(s.home),
        "SUPERSET_PORT": str(s.port),
        "SUPERSET_SECRET_KEY": get_secret("SUPERSET_SECRET_KEY", env),
        # requests prefers these variables over a connection's own CA file: Superset's only
        # HTTPS peer is the local Trino, whose certificate is the installation's own
        "REQUESTS_CA_BUNDLE": str(trino_service.settings(env).ca_file),
        "CURL_CA_BUNDLE": str(trino_service.settings(env).ca_file),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


def admin_credentials(env: Env) -> tuple[str, str]:
    """(user, password) of the Superset admin, from the secrets (never a built-in default)."""
    return get_secret("SUPERSET_ADMIN_USER", env), get_secret("SUPERSET_ADMIN_PASSWORD", env)


def cli(env: Env, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run `superset <args>` for this environment; returns its output, raises with it on failure."""
    venv = ensure_installed()
    s = settings(env)
    s.home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(venv / "bin" / "superset"), *args],
        env={**os.environ, **process_env(env), **(extra_env or {})},
        cwd=s.home,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        tail = "\n".join(output.splitlines()[-30:])
        raise RuntimeError(f"`superset {' '.join(args[:2])}` failed ({result.returncode}):\n{tail}")
    return output


# --- setup ----------------------------------------------------------------------------------


def _setup_stamp(env: Env) -> str:
    """Which virtualenv and admin credentials the metadata was set up with (an HMAC, not the password)."""
    user, password = admin_credentials(env)
    key = get_secret("SUPERSET_SECRET_KEY", env).encode()
    digest = hmac.new(key, f"{user}\0{password}".encode(), hashlib.sha256).hexdigest()[:16]
    from lakehouse import access

    users = hashlib.sha256(json.dumps(sorted(access.load().superset_users.items())).encode()).hexdigest()[:8]
    return f"venv={venv_dir().name} admin={user}:{digest} users={users}"


def user_password(env: Env, user: str) -> str:
    """Password of a per-role Superset user (conf/access.yaml `superset:`), created once per installation."""
    path = settings(env).home / "credentials.json"
    creds: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if user not in creds:
        import secrets as _secrets

        creds[user] = _secrets.token_urlsafe(18)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(creds, out)
    return creds[user]


def apply_users(env: Env) -> list[str]:
    """Create or update the per-role users of conf/access.yaml (`superset:`) with their roles."""
    from lakehouse import access

    users: list[dict[str, Any]] = [
        {"username": u, "password": user_password(env, u), "roles": list(roles)}
        for u, roles in access.load().superset_users.items()
    ]
    venv = ensure_installed()
    result = subprocess.run(
        [str(venv / "bin" / "python"), str(SUPERSET_CONF / "apply_users.py")],
        input=json.dumps({"users": users}), env={**os.environ, **process_env(env)},
        cwd=settings(env).home, capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"creating Superset's per-role users failed:\n{(result.stdout + result.stderr)[-2000:]}")
    return [u["username"] for u in users]


def setup(env: Env, force: bool = False) -> bool:
    """`superset db upgrade`, the admin user, `superset init`; skipped when already done.

    The admin comes from SUPERSET_ADMIN_USER/SUPERSET_ADMIN_PASSWORD; when the password
    changed since the last setup it is reset. Returns True when something was done.
    """
    s = settings(env)
    stamp_file = s.home / ".setup"
    stamp = _setup_stamp(env)
    if not force and stamp_file.exists() and stamp_file.read_text().strip() == stamp and (s.home / "superset.db").exists():
        return False
    log.info("setting up Superset metadata in %s", s.home)
    cli(env, "db", "upgrade")
    user, password = admin_credentials(env)
    # The password goes through click's environment-variable default, not the command line.
    out = cli(
        env, "fab", "create-admin", "--username", user, "--firstname", "Lakehouse", "--lastname", "Admin",
        "--email", f"{user}@lakehouse.invalid",
        extra_env={"FLASK_FAB_CREATE_ADMIN_PASSWORD": password},
    )
    if "already exists" in out:
        cli(env, "fab", "reset-password", "--username", user,
            extra_env={"FLASK_FAB_RESET_PASSWORD_PASSWORD": password})
    elif "created" not in out:
        raise RuntimeError(f"creating the Superset admin failed:\n{out[-2000:]}")
    cli(env, "init")
    apply_users(env)
    stamp_file.write_text(stamp + "\n")
    return True


# --- server lifecycle -----------------------------------------------------------------------


def is_running(env: Env) -> bool:
    """True when the server process this environment started is alive."""
    return process.is_running(settings(env).pid_file)


def is_healthy(env: Env) -> bool:
    """True when /health answers OK."""
    try:
        return process.http_ok(settings(env).url + "/health")
    except OSError:  # refused or reset while booting
        return False


def start(env: Env, timeout: float = 240) -> SupersetSettings:
    """Set up if needed, start gunicorn on the environment's port and wait until /health is OK."""
    restrict_umask()  # its files (state, logs, metadata) for owner and group only
    s = settings(env)
    if is_running(env):
        process.wait_until(lambda: is_healthy(env), _NAME, timeout, s.log_file)
        return s
    if is_healthy(env):
        raise RuntimeError(f"another Superset already answers on {s.url} (not started from {s.home})")
    venv = ensure_installed()
    setup(env)
    cmd = [
        str(venv / "bin" / "gunicorn"),
        "--bind", f"{s.host}:{s.port}",
        "--workers", str(WORKERS),
        "--worker-class", "gthread",
        "--threads", str(THREADS),
        "--timeout", "120",
        "--limit-request-line", "0",
        "--limit-request-field_size", "0",
        "--no-control-socket",
        "superset.app:create_app()",
    ]
    # its own secret key only: the pseudonymisation key and other secrets stay out (clean_env)
    process.start(_NAME, cmd, s.home, env=process_env(env), cwd=s.home, clean_env=True)
    try:
        process.wait_until(lambda: is_healthy(env) or not is_running(env), _NAME, timeout, s.log_file)
    except BaseException:
        process.stop(_NAME, s.home)
        raise
    if not is_running(env):
        tail = "\n".join(s.log_file.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"superset exited during start-up; log tail:\n{tail}")
    log.info("superset ready on %s", s.url)
    return s


def stop(env: Env) -> None:
    """Stop the server started for this environment (no-op when it is not running)."""
    process.stop(_NAME, settings(env).home, timeout=30)


def status(env: Env) -> dict[str, Any]:
    """Running/healthy state, URL, home and the dashboard URL, for `lakehouse superset status`."""
    s = settings(env)
    return {
        "url": s.url,
        "home": str(s.home),
        "running": is_running(env),
        "healthy": is_healthy(env),
        "dashboard": dashboard_url(env),
        "log": str(s.log_file),
    }


# --- dashboards as code ---------------------------------------------------------------------


def trino_uri(env: Env) -> str:
    """SQLAlchemy URI of the environment's Trino for Superset, without the password.

    Superset connects as TRINO_USER (role analyst in conf/access.yaml: masked, read-only); the
    password goes to the import separately (`passwords`) and is stored encrypted by Superset.
    """
    s = trino_service.settings(env)
    # Superset's password mask: the import keeps the password given in `passwords` only when
    # the URI carries the mask (a URI without one resets it to none)
    return f"trino://{TRINO_USER}:{PASSWORD_MASK}@{s.host}:{s.port}/{TRINO_CATALOG}"


def trino_connect_args(env: Env) -> dict[str, Any]:
    """The Trino driver's arguments: HTTPS, verified against the installation's certificate."""
    return {"http_scheme": "https", "verify": str(trino_service.settings(env).ca_file)}


def trino_password(env: Env) -> str:
    """The password of Superset's Trino user (created by `lakehouse trino start`)."""
    return trino_auth.password(trino_service.settings(env).state_dir, TRINO_USER)


def trino_answers(env: Env) -> bool:
    """True when the environment's Trino answers /v1/info over HTTPS (the import connects to it)."""
    try:
        return trino_service.is_ready(env)
    except OSError:
        return False


def bundles() -> list[Path]:
    """The dashboard bundles kept as code (folders with a metadata.yaml)."""
    return sorted(p.parent for p in DASHBOARDS_DIR.glob("*/metadata.yaml"))


class _BundleDumper(yaml.SafeDumper):
    """YAML as Superset exports it, but Chinese kept readable and JSON strings as blocks."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BundleDumper.add_representer(str, _str_representer)


def dump_yaml(doc: Any) -> str:
    """A bundle file's text: keys in export order, Unicode unescaped, long lines kept."""
    return yaml.dump(doc, Dumper=_BundleDumper, allow_unicode=True, sort_keys=False, width=100)


def _layout_chart_uuids(position: dict[str, Any], node_id: str = "ROOT_ID") -> list[str]:
    """UUIDs of the charts in a dashboard's position tree, top-left first."""
    node = position.get(node_id) or {}
    found = [str(node.get("meta", {}).get("uuid"))] if node.get("type") == "CHART" else []
    for child in node.get("children", []):
        found += _layout_chart_uuids(position, child)
    return found


def _import_order(bundle: Path) -> list[Path]:
    """The bundle's files, the charts in dashboard layout order.

    Superset creates charts in the order of the archive: this way their ids follow the
    layout, as in the instance the bundle was built in, not the file names' order.
    """
    layout: list[str] = []
    for dash_file in sorted((bundle / "dashboards").glob("*.yaml")):
        doc = yaml.safe_load(dash_file.read_text(encoding="utf-8")) or {}
        layout += _layout_chart_uuids(doc.get("position") or {})
    rank = {"metadata.yaml": 0, "databases": 1, "datasets": 2, "charts": 3, "dashboards": 4}

    def key(path: Path) -> tuple[int, int, str]:
        rel = path.relative_to(bundle)
        chart = len(layout)
        if rel.parts[0] == "charts":
            ident = str((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("uuid"))
            chart = layout.index(ident) if ident in layout else len(layout)
        return (rank.get(rel.parts[0], 5), chart, str(rel))

    return sorted(bundle.rglob("*.yaml"), key=key)


def build_bundle(env: Env, bundle: Path, dest: Path) -> Path:
    """Zip one bundle folder for the assets import, database URIs set to this environment's Trino."""
    uri = trino_uri(env)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in _import_order(bundle):
            rel = path.relative_to(bundle).as_posix()
            text = path.read_text(encoding="utf-8")
            if rel.startswith("databases/"):
                doc = yaml.safe_load(text)
                doc["sqlalchemy_uri"] = uri
                extra = doc.setdefault("extra", {})
                extra.setdefault("engine_params", {})["connect_args"] = trino_connect_args(env)
                text = dump_yaml(doc)
            elif rel == "metadata.yaml":
                doc = yaml.safe_load(text)
                doc["type"] = "assets"  # the assets import takes any mix, and overwrites it all
                text = dump_yaml(doc)
            zf.writestr(f"{bundle.name}/{rel}", text)
    return dest


def import_dashboards(env: Env) -> list[str]:
    """Import every bundle under conf/superset/dashboards into the running Superset.

    Uses /api/v1/assets/import/, which overwrites the database (its URI points at this
    environment's Trino), datasets, charts and dashboards matched by UUID: the repository is
    the source of truth. (`superset import-dashboards` would keep existing databases,
    datasets and charts unchanged.) Returns the bundle names.
    """
    if not is_healthy(env):
        raise RuntimeError(f"Superset is not running on {settings(env).url}: `lakehouse superset start` first")
    if not trino_answers(env):  # Superset connects to the database while importing it
        raise RuntimeError(f"Trino does not answer for {trino_uri(env)}: `lakehouse trino start` first")
    client = ApiClient(env)
    done = []
    with tempfile.TemporaryDirectory(prefix="superset-import-") as tmp:
        for bundle in bundles():
            zpath = build_bundle(env, bundle, Path(tmp) / f"{bundle.name}.zip")
            password = trino_password(env)
            passwords = {f"databases/{p.name}": password for p in (bundle / "databases").glob("*.yaml")}
            client.post_file("/api/v1/assets/import/", "bundle", zpath, form={"passwords": json.dumps(passwords)})
            log.info("imported dashboard bundle %s (Trino %s)", bundle.name, trino_uri(env))
            done.append(bundle.name)
    return done


def _clean_export(rel: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """Drop what only makes sense in the Superset instance the bundle was exported from."""
    top = rel.parts[0]
    if top == "databases":
        doc["sqlalchemy_uri"] = BUNDLE_URI
        # per-installation paths (the CA file) are set at import, not kept in the repository
        (doc.get("extra") or {}).get("engine_params", {}).pop("connect_args", None)
    elif top == "charts":
        params = doc.get("params") or {}
        params.pop("dashboards", None)  # ids of that instance's dashboards
        if doc.get("query_context"):
            context = json.loads(doc["query_context"])
            (context.get("form_data") or {}).pop("dashboards", None)
            doc["query_context"] = json.dumps(context, ensure_ascii=False, indent=2)
    elif top == "dashboards":
        metadata = doc.get("metadata") or {}
        # chart ids of that instance; the import does not remap them, and without them the
        # UI derives each filter's charts from its scope
        for item in metadata.get("native_filter_configuration", []):
            item.pop("chartsInScope", None)
        (metadata.get("global_chart_configuration") or {}).pop("chartsInScope", None)
    return doc


def export_dashboard(env: Env, slug: str, name: str | None = None) -> Path:
    """Export a dashboard of the running Superset into conf/superset/dashboards/<name>/.

    The way to change a dashboard kept as code: edit it in the UI, export, review the diff.
    Files already in the bundle keep their names (matched by UUID, so Chinese titles need
    not become file names); the database URI is written as the local default (the import
    sets it per environment); files of objects no longer exported are removed.
    """
    client = ApiClient(env)
    dash = client.get(f"/api/v1/dashboard/{slug}")["result"]
    target = DASHBOARDS_DIR / (name or slug)
    existing: dict[str, Path] = {}
    for path in target.rglob("*.yaml") if target.exists() else []:
        ident = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("uuid")
        if ident:
            existing[str(ident)] = path.relative_to(target)
    data = client.get_bytes(f"/api/v1/dashboard/export/?q=!({int(dash['id'])})")
    written: set[Path] = set()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for member in zf.namelist():
            rel = Path(*Path(member).parts[1:])  # without the dashboard_export_<timestamp>/ root
            if rel.suffix != ".yaml":
                continue
            doc = _clean_export(rel, yaml.safe_load(zf.read(member).decode("utf-8")) or {})
            rel = existing.get(str(doc.get("uuid")), rel)
            out = target / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(dump_yaml(doc), encoding="utf-8")
            written.add(rel)
    for rel in set(existing.values()) - written:
        (target / rel).unlink()
    log.info("exported dashboard %r into %s (%d files)", slug, target, len(written))
    return target


def dashboard_slug(bundle: Path) -> str:
    """The slug of the (first) dashboard in a bundle."""
    first = sorted((bundle / "dashboards").glob("*.yaml"))[0]
    return str(yaml.safe_load(first.read_text(encoding="utf-8"))["slug"])


def dashboard_url(env: Env, name: str = FUND_DASHBOARD) -> str:
    """Browser URL of a dashboard kept as code (by its slug)."""
    return f"{settings(env).url}/superset/dashboard/{dashboard_slug(DASHBOARDS_DIR / name)}/"


# --- REST API -------------------------------------------------------------------------------


class ApiClient:
    """Minimal Superset REST client: JWT login plus the session cookie and CSRF token for writes."""

    def __init__(self, env: Env, user: str | None = None, password: str | None = None) -> None:
        self.base = settings(env).url
        if user is None or password is None:
            user, password = admin_credentials(env)
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self._headers: dict[str, str] = {}
        login = {"username": user, "password": password, "provider": "db", "refresh": True}
        token = self._send("POST", "/api/v1/security/login", json.dumps(login).encode(), "application/json")
        self._headers = {"Authorization": f"Bearer {token['access_token']}", "Referer": self.base}
        self._headers["X-CSRFToken"] = self.get("/api/v1/security/csrf_token/")["result"]

    def _open(self, method: str, path: str, data: bytes | None, content_type: str | None) -> bytes:
        headers = {"Accept": "application/json", **self._headers}
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self._opener.open(req, timeout=300) as resp:
                return resp.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            with contextlib.suppress(ValueError):  # JSON with \u escapes (Chinese in this UI)
                detail = json.dumps(json.loads(detail), ensure_ascii=False)
            raise RuntimeError(f"Superset {method} {path}: HTTP {err.code}: {detail[:3000]}") from err

    def _send(self, method: str, path: str, data: bytes | None = None, content_type: str | None = None) -> Any:
        raw = self._open(method, path, data, content_type)
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self._send("GET", path)

    def get_bytes(self, path: str) -> bytes:
        return self._open("GET", path, None, None)

    def post(self, path: str, body: Any) -> Any:
        return self._send("POST", path, json.dumps(body).encode(), "application/json")

    def put(self, path: str, body: Any) -> Any:
        return self._send("PUT", path, json.dumps(body).encode(), "application/json")

    def post_file(self, path: str, field: str, file: Path, form: dict[str, str] | None = None) -> Any:
        """multipart/form-data POST of one file (plus plain form fields)."""
        boundary = f"----lakehouse{uuid.uuid4().hex}"
        parts = []
        for key, value in (form or {}).items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{file.name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + file.read_bytes()
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        return self._send("POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}")
