"""Readable logs: time, level, logger and message; py4j and friends kept quiet."""

from __future__ import annotations

import logging
import sys


def setup_logging(verbose: bool = False) -> None:
    """Configure root logging once for CLI runs and jobs."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-5s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )
    for noisy in ("py4j", "urllib3", "alembic", "mlflow", "git", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
