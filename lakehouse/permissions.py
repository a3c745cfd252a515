"""Files the project creates are for their owner and its group only.

Bronze and quarantine hold raw numbers and names like `restricted`; exports, GX results, Superset's
metadata and the secrets are no more public. Every entry point restricts the process umask to
at least UMASK (never loosening a stricter one): the CLI, every pipeline step (Airflow tasks run
steps directly), and the service starters (tests and other callers that bypass the CLI).
Spark's local file system applies its own umask (`spark.hadoop.fs.permissions.umask-mode`).
"""

from __future__ import annotations

import os

UMASK = 0o027


def restrict_umask() -> None:
    """At most UMASK for files this process and its children create."""
    current = os.umask(UMASK)
    os.umask(current | UMASK)
