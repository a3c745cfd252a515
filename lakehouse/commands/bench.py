"""`lakehouse bench`: per-stage wall time, rows/s and peak memory on a generated city.

Writes `bench/results/<scale>.json` and `.md`. No thresholds: numbers to compare, not tests.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import tempfile
import threading
import time
from pathlib import Path

from lakehouse.config import REPO_ROOT, load_env


class PeakMemory:
    """Samples the RSS of this process and its children (the Spark JVM) in a thread."""

    def __init__(self, interval: float = 0.5) -> None:
        import psutil

        self._proc, self._interval, self.peak, self._stop = psutil.Process(), interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            with contextlib.suppress(Exception):  # a child may exit between listing and reading
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self._interval)

    def __enter__(self) -> PeakMemory:
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop.clear()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _rows(result: object) -> int:
    if isinstance(result, dict):
        return int(sum(v for v in result.values() if isinstance(v, int)))
    if isinstance(result, list):
        return int(sum(getattr(o, "rows", 0) for o in result))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from lakehouse.pipeline import NIGHTLY_STEPS, run_step
    from lakehouse.synth import generate_city

    persons, days = (int(x) for x in args.scale.lower().split("x"))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="lakehouse-bench-"))
    base = load_env(args.env)
    env = dataclasses.replace(
        base.with_paths(city=work / "city", landing=work / "city" / "landing", lake=work / "lake",
                        exports=work / "exports", state=work / "state"),
        mlflow_tracking_uri=f"sqlite:///{work / 'mlflow.db'}", mlflow_artifact_root=work / "mlruns")
    stages: list[dict] = []
    with PeakMemory() as mem:
        t0 = time.monotonic()
        generate_city(persons=persons, days=days, seed=args.seed, out=work / "city")
        stages.append({"stage": "synth", "date": "", "seconds": time.monotonic() - t0, "rows": persons,
                       "peak_rss_mb": mem.peak / 2**20})
    dates = sorted({p.name for p in (work / "city" / "landing").glob("*/*") if p.is_dir()})
    for day in dates:
        d = dt.date.fromisoformat(day)
        for step in NIGHTLY_STEPS:
            with PeakMemory() as mem:
                t0 = time.monotonic()
                result = run_step(step.name, d, env, f"bench__{day}")
                secs = time.monotonic() - t0
            stages.append({"stage": step.name, "date": day, "seconds": secs, "rows": _rows(result),
                           "peak_rss_mb": mem.peak / 2**20})
            print(f"{day} {step.name:<14}{secs:8.1f}s", flush=True)
    for s in stages:
        s["rows_per_s"] = s["rows"] / s["seconds"] if s["seconds"] and s["rows"] else None
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = f"{persons}x{days}"
    (out / f"{name}.json").write_text(json.dumps({"scale": name, "stages": stages}, indent=1))
    lines = ["| stage | date | seconds | rows | rows/s | peak RSS MB |", "|---|---|---:|---:|---:|---:|"]
    for s in stages:
        rps = f"{s['rows_per_s']:.0f}" if s["rows_per_s"] else ""
        lines.append(f"| {s['stage']} | {s['date']} | {s['seconds']:.1f} | {s['rows']} | {rps} | {s['peak_rss_mb']:.0f} |")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten: {out / name}.json and .md (work dir {work})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `bench`."""
    p = sub.add_parser("bench", help="time every stage on a generated city",
                       description="Generate a city of --scale PERSONSxDAYS and run every nightly step per date, "
                                   "recording wall time, rows/s and peak memory (process + Spark JVM).")
    p.add_argument("--scale", default="20000x30", help="PERSONSxDAYS (default 20000x30)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workdir", help="where to put the city and lake (default: a new temp dir)")
    p.set_defaults(handler=_bench)
