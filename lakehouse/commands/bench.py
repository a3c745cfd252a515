"""`lakehouse bench`: what each stage of a night costs on a generated city, beside the I/O limit
and a DuckDB reference of the same work on the same landing.

Per night and stage: new input rows, wall and CPU seconds, peak memory (Python + Spark JVM +
workers), bytes read and written, Delta commits and data files added. Per night, the same
deliveries read+decoded+written by pyarrow (the I/O limit) and loaded by DuckDB with every
person's last strong/weak sign of life computed (the reference), and the ratios of the
pipeline to both. `--backfill` times `lakehouse backfill` over the city's dates instead.

Writes `bench/results/<name>.json` and `.md` with the machine and the configuration.
No thresholds: numbers to compare, not tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

from lakehouse.config import REPO_ROOT, Env, load_env

INGEST_AND_LIFE_SIGNS = ("ingest", "silver", "gold")


def _machine() -> dict:
    import psutil

    return {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(), "python": platform.python_version(),
            "load_avg_at_start": os.getloadavg()[0]}


def _code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _env(args: argparse.Namespace, work: Path) -> Env:
    base = load_env(args.env)
    return dataclasses.replace(
        base.with_paths(city=work / "city", landing=work / "city" / "landing", lake=work / "lake",
                        exports=work / "exports", state=work / "state"),
        mlflow_tracking_uri=f"sqlite:///{work / 'mlflow.db'}", mlflow_artifact_root=work / "mlruns")


def _new_rows(env: Env, run_id: str) -> tuple[int, list[dt.date]]:
    """Records and extract dates of the deliveries a run loaded (from the deliveries log)."""
    from lakehouse import lake

    if not lake.exists(env, "ops.deliveries"):
        return 0, []
    rows = [r for r in lake.read_arrow(env, "ops.deliveries").to_pylist()
            if r["run_id"] == run_id and r["status"] == "LOADED"]
    return sum(r["rows"] for r in rows), sorted({r["extract_date"] for r in rows})


def _nights(env: Env, dates: list[dt.date], work: Path, references: bool) -> list[dict]:
    from lakehouse import lake
    from lakehouse.bench.measure import measure
    from lakehouse.bench.reference import duckdb_reference, io_limit
    from lakehouse.pipeline import NIGHTLY_STEPS, run_step

    nights = []
    for i, day in enumerate(dates, start=1):
        run_id = f"bench__{day}"
        stages = []
        for step in NIGHTLY_STEPS:
            with measure(env.paths.lake) as m:
                run_step(step.name, day, env, run_id)
            stages.append({"stage": step.name, **dataclasses.asdict(m)})
            print(f"night {i}/{len(dates)} {day} {step.name:<13}{m.seconds:8.1f}s  cpu {m.cpu_seconds:7.1f}s  "
                  f"peak {m.peak_rss_mb:6.0f} MB  commits {m.delta_commits:4d}", flush=True)
        new_rows, delivered = _new_rows(env, run_id)
        night = {"night": i, "date": day.isoformat(), "new_input_rows": new_rows, "stages": stages,
                 "seconds": sum(s["seconds"] for s in stages), "silver_modes": _silver_modes(env, run_id)}
        if references:
            io = io_limit(env.paths.landing, delivered, work / "io_limit" / day.isoformat())
            duck = duckdb_reference(env.paths.landing, [d for d in _all_dates(env) if d <= day], day)
            ours = sum(s["seconds"] for s in stages if s["stage"] in INGEST_AND_LIFE_SIGNS)
            ingest = next(s["seconds"] for s in stages if s["stage"] == "ingest")
            # the same work? persons with a last strong / weak sign in gold beside DuckDB's counts
            profile = lake.read_arrow(env, "gold.person_profile", ["last_strong_signal", "last_weak_signal"])
            night["gold_life_signs"] = {"with_strong": profile.num_rows - profile.column(0).null_count,
                                        "with_weak": profile.num_rows - profile.column(1).null_count}
            night["io_limit"] = dataclasses.asdict(io)
            night["duckdb"] = dataclasses.asdict(duck)
            night["ratio_ingest_to_io_limit"] = ingest / io.seconds if io.seconds else None
            night["ratio_ingest_life_signs_to_duckdb"] = ours / duck.seconds if duck.seconds else None
            print(f"night {i} references: io_limit {io.seconds:.2f}s ({io.rows} rows), duckdb {duck.seconds:.2f}s; "
                  f"ingest/io_limit {night['ratio_ingest_to_io_limit']:.1f}x, "
                  f"ingest+silver+gold/duckdb {night['ratio_ingest_life_signs_to_duckdb']:.1f}x", flush=True)
        nights.append(night)
    return nights


def _silver_modes(env: Env, run_id: str) -> dict[str, int]:
    """How many silver tables the night rebuilt, applied incrementally or left alone (ops.silver_applied)."""
    from lakehouse import applied

    modes = list(applied.run_modes(env, run_id).values())
    return {m: modes.count(m) for m in ("full", "incremental", "skip")} if modes else {}


def _all_dates(env: Env) -> list[dt.date]:
    return sorted({dt.date.fromisoformat(p.name) for p in env.paths.landing.glob("*/*") if p.is_dir()})


def _markdown(result: dict) -> str:
    lines = [f"# bench {result['name']}", "",
             f"machine: {json.dumps(result['machine'], ensure_ascii=False)}  ",
             f"config: {json.dumps(result['config'], ensure_ascii=False)}", ""]
    if "nights" in result:
        lines += ["| night | date | new rows | stage | s | cpu s | peak MB | read MB | written MB | commits | files |",
                  "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for n in result["nights"]:
            for s in n["stages"]:
                lines.append(f"| {n['night']} | {n['date']} | {n['new_input_rows']} | {s['stage']} | {s['seconds']:.1f} "
                             f"| {s['cpu_seconds']:.1f} | {s['peak_rss_mb']:.0f} | {s['read_mb']:.1f} "
                             f"| {s['written_mb']:.1f} | {s['delta_commits']} | {s['files_added']} |")
        lines += ["", "| night | total s | silver tables full / incremental / skipped | ingest / I/O limit "
                  "| ingest+silver+gold / DuckDB | persons with a strong sign: gold / DuckDB |",
                  "|---:|---:|---|---:|---:|---:|"]
        for n in result["nights"]:
            r1, r2 = n.get("ratio_ingest_to_io_limit"), n.get("ratio_ingest_life_signs_to_duckdb")
            same = (f"{n['gold_life_signs']['with_strong']} / {n['duckdb']['detail']['with_strong']}"
                    if "duckdb" in n else "")
            m = n.get("silver_modes") or {}
            modes = f"{m.get('full', '')} / {m.get('incremental', '')} / {m.get('skip', '')}" if m else ""
            lines.append(f"| {n['night']} | {n['seconds']:.1f} | {modes} | {'' if r1 is None else f'{r1:.1f}x'} "
                         f"| {'' if r2 is None else f'{r2:.1f}x'} | {same} |")
    if "backfill" in result:
        b = result["backfill"]
        lines += [f"backfill of {b['dates']} dates: {b['seconds']:.1f} s wall, {b['cpu_seconds']:.1f} s CPU, "
                  f"peak {b['peak_rss_mb']:.0f} MB, {b['delta_commits']} commits"]
    return "\n".join(lines) + "\n"


def _bench(args: argparse.Namespace) -> int:
    from lakehouse.bench.measure import measure
    from lakehouse.synth import generate_city

    persons, days = (int(x) for x in args.scale.lower().split("x"))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="lakehouse-bench-"))
    env = _env(args, work)
    result: dict = {"name": f"{persons}x{days}" + ("-backfill" if args.backfill else ""),
                    "machine": _machine(), "code_version": _code_version(),
                    "config": {"persons": persons, "days": days, "seed": args.seed, "env": env.name,
                               "spark_master": env.spark_master, "spark_conf": env.spark_conf}}
    t0 = time.monotonic()
    generate_city(persons=persons, days=days, seed=args.seed, out=work / "city")
    result["synth_seconds"] = time.monotonic() - t0
    print(f"city of {persons} persons x {days} nights generated in {result['synth_seconds']:.0f}s", flush=True)
    dates = _all_dates(env)
    if args.backfill:
        from lakehouse.commands.pipeline import run_dates

        with measure(env.paths.lake) as m:
            run_dates(env, dates)
        result["backfill"] = {"dates": len(dates), **dataclasses.asdict(m)}
    else:
        result["nights"] = _nights(env, dates, work, references=not args.no_references)
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{result['name']}.json").write_text(json.dumps(result, indent=1, default=str))
    text = _markdown(result)
    (out / f"{result['name']}.md").write_text(text)
    print(text)
    print(f"written: {out / result['name']}.json and .md (work dir {work})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `bench`."""
    p = sub.add_parser("bench", help="cost of every stage on a generated city, beside the I/O limit and DuckDB",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", default="20000x30", help="PERSONSxDAYS (default 20000x30)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workdir", help="where to put the city and lake (default: a new temp dir)")
    p.add_argument("--backfill", action="store_true", help="time one backfill over all dates instead of nights")
    p.add_argument("--no-references", action="store_true", help="skip the I/O-limit and DuckDB measurements")
    p.set_defaults(handler=_bench)
