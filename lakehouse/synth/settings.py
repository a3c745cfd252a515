"""Generator parameters: conf/synth.yaml loaded and checked into one typed object."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lakehouse.config import CONF_DIR

SOURCES = ("pension", "medical", "public_security", "civil_affairs", "transit", "bank")
SECTIONS = ("city", "population", "pension", "medical", "transit", "bank", "history", "delivery",
            "quirks", "scenarios", "policy")


@dataclass(frozen=True)
class Settings:
    """The sections of conf/synth.yaml (plain mappings: rates by name, read where used)."""

    city: dict[str, Any]
    population: dict[str, Any]
    pension: dict[str, Any]
    medical: dict[str, Any]
    transit: dict[str, Any]
    bank: dict[str, Any]
    history: dict[str, Any]
    delivery: dict[str, Any]
    quirks: dict[str, Any]
    scenarios: dict[str, Any]
    policy: dict[str, Any]

    @property
    def regions(self) -> list[str]:
        """The city's six region codes, in a fixed order."""
        return sorted(self.city["regions"])

    def region_name(self, code: str) -> str:
        """Chinese name of a city region."""
        return str(self.city["regions"][code]["name"])

    def history_from(self, source: str, start: dt.date) -> dt.date:
        """First business day an agency's initial load covers."""
        spec = self.history[source]
        if "from" in spec:
            return dt.date.fromisoformat(str(spec["from"]))
        return start - dt.timedelta(days=int(spec["days"]))


def load_settings(path: Path | None = None) -> Settings:
    """Load conf/synth.yaml (or `path`), failing early on a missing section or source."""
    raw = yaml.safe_load((path or CONF_DIR / "synth.yaml").read_text(encoding="utf-8"))
    missing = [s for s in SECTIONS if s not in raw]
    if missing:
        raise ValueError(f"synth settings lack section(s): {', '.join(missing)}")
    for section in ("history",):
        lacking = [s for s in SOURCES if s not in raw[section]]
        if lacking:
            raise ValueError(f"synth settings: {section} lacks source(s) {', '.join(lacking)}")
    if len(raw["city"]["regions"]) < 1:
        raise ValueError("synth settings: city.regions is empty")
    return Settings(**{s: raw[s] for s in SECTIONS})
