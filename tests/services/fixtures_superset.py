"""Superset and headless Chromium for the dashboard tests (a pytest plugin module).

Use it with `pytest_plugins = ["tests.services.fixtures_superset"]` in a test module.

    superset_server   Superset 6.1.0 (its own virtualenv) on a free port, a fresh home in a temp
                      dir, the `trino_server` as its database, conf/superset/dashboards imported
    chromium          a factory of headless Chromium WebDrivers (Selenium, /usr/bin/chromedriver)
                      with the platform's flags and a fresh --user-data-dir each
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import Env
from lakehouse.services import superset

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# PLATFORM.md: without the background-networking flags Chromium keeps dialling out of a closed network.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--lang=zh-CN",
)
SECRETS = ("SUPERSET_SECRET_KEY", "SUPERSET_ADMIN_USER", "SUPERSET_ADMIN_PASSWORD")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SupersetServer:
    """A started Superset with the dashboards kept as code imported."""

    env: Env  # trino_server's Env with this server's port and home in services["superset"]
    url: str
    admin_user: str
    admin_password: str
    boot_seconds: float  # setup + start until /health answered (fresh metadata database)

    def api(self) -> superset.ApiClient:
        """A logged-in REST client (admin)."""
        return superset.ApiClient(self.env, self.admin_user, self.admin_password)

    def dashboard_url(self, name: str = superset.FUND_DASHBOARD) -> str:
        return superset.dashboard_url(self.env, name)


@pytest.fixture(scope="session")
def superset_secrets() -> Iterator[dict[str, str]]:
    """The Superset secrets from the environment, or random ones for this session's throwaway instance.

    The test environments have no secrets file, and Superset has no built-in fallback.
    """
    saved = {name: os.environ.get(name) for name in SECRETS}
    os.environ.setdefault("SUPERSET_SECRET_KEY", secrets.token_urlsafe(32))
    os.environ.setdefault("SUPERSET_ADMIN_USER", "admin")
    os.environ.setdefault("SUPERSET_ADMIN_PASSWORD", secrets.token_urlsafe(16))
    yield {name: os.environ[name] for name in SECRETS}
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def superset_server(
    trino_server: Any, superset_secrets: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SupersetServer]:
    """Superset on a free port over `trino_server`, dashboards imported; stopped at session end.

    Installs Superset's virtualenv first when the cache lacks it (scripts/setup_superset.sh).
    """
    env = superset.with_superset(trino_server.env, port=_free_port(), home=tmp_path_factory.mktemp("superset"))
    began = time.monotonic()
    settings = superset.start(env)
    boot = time.monotonic() - began
    try:
        superset.import_dashboards(env)
        user, password = superset.admin_credentials(env)
        yield SupersetServer(env=env, url=settings.url, admin_user=user, admin_password=password, boot_seconds=boot)
    finally:
        superset.stop(env)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Callable[..., Any]]:
    """Factory: `chromium(width=1600, height=1100)` → a headless Chromium WebDriver (quit at session end).

    Each browser has its own empty profile and records the network (performance log), so a
    test can read what the page requested and received.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run `make setup-system` (scripts/setup_system.sh) as root")
    drivers: list[Any] = []
    profiles: list[str] = []

    def make(width: int = 1600, height: int = 1100) -> Any:
        profile = tempfile.mkdtemp(prefix="chromium-profile-")
        profiles.append(profile)
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*CHROMIUM_FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        driver.set_page_load_timeout(120)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.quit()
    for profile in profiles:
        shutil.rmtree(profile, ignore_errors=True)
