# Superset configuration of the 智慧人社 lakehouse, read through SUPERSET_CONFIG_PATH.
#
# Everything per-installation comes from the process environment, which
# lakehouse/services/superset.py fills from conf/env/<env>.yaml and lakehouse.secrets:
#   SUPERSET_SECRET_KEY  signs sessions and encrypts stored database credentials (required;
#                        there is no default: Superset must not start without it)
#   SUPERSET_HOME        the environment's Superset home (metadata database, uploads)
#   SUPERSET_PORT        the web server's port (informational; gunicorn binds it)
import os
from pathlib import Path

from superset.config import THEME_DEFAULT

SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY", "")
if not SECRET_KEY:
    raise RuntimeError(
        "SUPERSET_SECRET_KEY is not set: start Superset with `lakehouse superset start` "
        "(it reads the per-installation secret; locally `make secrets` creates it)"
    )

_home = os.environ.get("SUPERSET_HOME", "")
if not _home:
    raise RuntimeError("SUPERSET_HOME is not set: start Superset with `lakehouse superset start`")
DATA_DIR = str(Path(_home).resolve())
UPLOAD_FOLDER = str(Path(DATA_DIR) / "uploads") + "/"

# Metadata database: SQLite in the environment's Superset home (local and test environments).
SQLALCHEMY_DATABASE_URI = f"sqlite:///{DATA_DIR}/superset.db?check_same_thread=false"

APP_NAME = "智慧人社"
SUPERSET_WEBSERVER_PORT = int(os.environ.get("SUPERSET_PORT", "18088"))
SUPERSET_WEBSERVER_TIMEOUT = 120

# Chinese first: UI in Simplified Chinese (English selectable), fonts that carry CJK glyphs,
# and number formats without a currency prefix (amounts are yuan).
BABEL_DEFAULT_LOCALE = "zh"
LANGUAGES = {
    "zh": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "us", "name": "English"},
}
THEME_DEFAULT = {
    **THEME_DEFAULT,
    "token": {
        **THEME_DEFAULT["token"],
        "brandAppName": APP_NAME,
        "fontFamily": "Inter, 'Noto Sans CJK SC', 'Noto Sans SC', 'PingFang SC', "
        "'Microsoft YaHei', Helvetica, Arial, sans-serif",
    },
}
THEME_DARK = None
D3_FORMAT = {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["¥", ""]}
CURRENCIES = ["CNY"]

# The session cookie gets its own name: Airflow's UI runs on the same host (other port)
# and browsers do not separate cookies by port.
SESSION_COOKIE_NAME = "lakehouse_superset_session"
SESSION_COOKIE_SAMESITE = "Lax"

# CSRF protection stays on for the UI; API clients send the token from
# /api/v1/security/csrf_token/ with their session.
WTF_CSRF_ENABLED = True

# Local deployment over plain HTTP: no external beacons or map tiles.
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}

# No result cache (Superset's default): the dashboards read Trino directly, so they show
# the lake as the last pipeline run left it.
ROW_LIMIT = 50000
SQLLAB_TIMEOUT = 120
