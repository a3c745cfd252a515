"""Secrets come from the environment; locally from a git-ignored per-installation file.

There is no built-in fallback: a missing secret stops the run with a message that
says how to provide it.
"""

from __future__ import annotations

import os
from pathlib import Path

from lakehouse.config import Env, load_env


class MissingSecret(RuntimeError):
    """A required secret is neither in the environment nor in the local secrets file."""


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def get_secret(name: str, env: Env | None = None) -> str:
    """Return secret `name` from the environment or the environment's secrets file."""
    if os.environ.get(name):
        return os.environ[name]
    env = env or load_env()
    if env.secrets_file and env.secrets_file.exists():
        value = _read_env_file(env.secrets_file).get(name)
        if value:
            return value
    where = f" or in {env.secrets_file}" if env.secrets_file else ""
    raise MissingSecret(
        f"{name} is not set: export it{where} (locally `make secrets` creates one per installation)"
    )


def pseudonym_key(env: Env | None = None) -> bytes:
    """The HMAC key behind person_ref (OUTPUTS.md); the pipeline refuses to run without it."""
    return get_secret("LAKEHOUSE_PSEUDONYM_KEY", env).encode("utf-8")
