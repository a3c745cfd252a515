"""Error kinds. A DataError is about the data (no retry helps); anything else may be transient."""

from __future__ import annotations


class DataError(Exception):
    """Bad input or failed data-quality gate: fail fast, do not retry."""


class CorruptDelivery(DataError):
    """A source/date delivery that disagrees with its manifest or cannot be read."""

    def __init__(self, source: str, extract_date: str, file: str | None, reason: str) -> None:
        self.source, self.extract_date, self.file, self.reason = source, extract_date, file, reason
        where = f"{source}/{extract_date}" + (f"/{file}" if file else "")
        super().__init__(f"corrupt delivery {where}: {reason}")


class ExpectationFailed(DataError):
    """A Great Expectations suite failed: the table is not promoted."""
