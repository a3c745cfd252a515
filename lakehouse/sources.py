"""The source contract of conf/sources.yaml, loaded and validated into typed specs."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import lru_cache

from lakehouse.config import load_conf

FORMATS = {"csv", "delimited", "jsonl_gzip", "xlsx", "parquet"}
KINDS = {"registry", "events"}


@dataclass(frozen=True)
class FileSpec:
    """One kind of file a source delivers; lands in bronze table `<source>__<table>`."""

    source: str
    pattern: str
    table: str
    kind: str
    format: str
    encoding: str
    delimiter: str
    columns: tuple[str, ...]

    @property
    def bronze_table(self) -> str:
        return f"{self.source}__{self.table}"

    def matches(self, relative_name: str) -> bool:
        """Glob match part by part: `*` never crosses a `/` (taps/part-*.parquet is one folder deep)."""
        names, patterns = relative_name.split("/"), self.pattern.split("/")
        return len(names) == len(patterns) and all(
            fnmatch.fnmatchcase(n, p) for n, p in zip(names, patterns, strict=True))


@dataclass(frozen=True)
class SourceSpec:
    """A source agency and the files it delivers."""

    name: str
    label: str
    files: tuple[FileSpec, ...]

    def spec_for(self, relative_name: str) -> FileSpec | None:
        return next((f for f in self.files if f.matches(relative_name)), None)


def _file_spec(source: str, defaults: dict, raw: dict) -> FileSpec:
    merged = {**defaults, **raw}
    spec = FileSpec(
        source=source,
        pattern=merged["pattern"],
        table=merged["table"],
        kind=merged["kind"],
        format=merged["format"],
        encoding=merged.get("encoding", "utf-8"),
        delimiter=merged.get("delimiter", ","),
        columns=tuple(merged["columns"]),
    )
    if spec.format not in FORMATS or spec.kind not in KINDS:
        raise ValueError(f"conf/sources.yaml {source}/{spec.pattern}: bad format or kind")
    return spec


@lru_cache(maxsize=1)
def load_sources() -> dict[str, SourceSpec]:
    """All sources of conf/sources.yaml by name."""
    raw = load_conf("sources.yaml")["sources"]
    out: dict[str, SourceSpec] = {}
    for name, body in raw.items():
        defaults = {k: v for k, v in body.items() if k not in ("files", "label")}
        files = tuple(_file_spec(name, defaults, f) for f in body["files"])
        out[name] = SourceSpec(name=name, label=body.get("label", name), files=files)
    return out
