"""Issue 11 end to end, on a copy of the shared lake (built night by night by Airflow):

1. the last night is re-delivered with hostile re-sends — a field past the line limit, nanosecond
   timestamps, an unparseable manifest field, a manifest name leaving its folder, an emptied registry
   snapshot, a folder not named YYYY-MM-DD — and one re-send that loads, whose pensioners carry
   formula-like names, control characters and regions that are not codes;
2. two `lakehouse nightly` for that night start at once: one is refused naming the other, the other
   runs alone; every hostile delivery is rejected with its reason, the good sequence stays loaded,
   bad regions end in quarantine and every region's export files are written, with safe cells;
3. `lakehouse restore` rolls the lake back to the night before, the agencies' original deliveries
   come back, the night is re-run, and its exports are byte-identical to the clean Airflow run.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from lakehouse import lake
from lakehouse.config import ENV_JSON_VAR, REPO_ROOT, Env, env_to_json
from lakehouse.export_files import NUMBER
from lakehouse.identity import check_char
from tests.conftest import Lake, make_env
from tests.integration.test_operations import folder_digest

pytestmark = pytest.mark.timeout(3600)

# pensioners of the loaded re-send: (name, region) → what must happen to them
HOSTILE_PERSONS = {
    "=1+2": "330102",          # a formula: exported as text
    "@合计": "330102",          # an Excel function prefix
    "-陈明": "330105",          # a minus sign
    "王\x07五": "330106",        # a control character: removed, never an error
    "赵../钱": "../../x",        # a region that would name a file outside the folder: quarantined
    "孙一": "33:01*",           # a region that is no code: quarantined
}
BAD_REGIONS = {"../../x", "33:01*"}


@dataclass
class Night:
    env: Env
    original: Env
    day: dt.date
    before: dt.date
    first: subprocess.CompletedProcess
    second: subprocess.CompletedProcess
    clean_exports: dict[str, str]
    hostile_exports: Path
    hostile_ids: dict[str, str]  # name → ID number of the loaded re-send's pensioners


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "_MANIFEST.json").read_text(encoding="utf-8"))


def _resend(folder: Path, files: dict[str, bytes], rows: dict[str, int] | None = None) -> None:
    """Re-deliver `folder` as the next sequence: its files plus/instead of `files`, a fresh manifest."""
    body = _manifest(folder)
    listed = {f["name"]: f for f in body["files"]}
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        listed[name] = {"name": name, "rows": (rows or {}).get(name, max(data.count(b"\n") - 1, 0)),
                        "sha256": hashlib.sha256(data).hexdigest()}
    body = {**body, "sequence": int(body.get("sequence", 1)) + 1, "files": list(listed.values())}
    (folder / "_MANIFEST.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")


def _person_id(n: int) -> str:
    first17 = f"33010219400101{n:03d}"
    return first17 + check_char(first17)


def _hostile_deliveries(landing: Path, day: dt.date, ac01_day: dt.date, czrk_day: dt.date) -> dict[str, str]:
    """Write the night's hostile re-sends over the original folders (`ac01_day`, `czrk_day`: extract
    dates of the latest loaded person and 常住人口 snapshots); returns the pensioners' ID numbers."""
    d = day.isoformat()
    # pension: the latest loaded ac01 snapshot plus six pensioners with hostile names and regions (LOADED);
    # gb18030 both ways keeps the original bytes of rare name characters exactly
    latest_ac01 = (landing / "pension" / ac01_day.isoformat() / "ac01_person.csv").read_bytes().decode("gb18030")
    eol = "\r\n" if "\r\n" in latest_ac01 else "\n"
    ids = {name: _person_id(900 + i) for i, name in enumerate(HOSTILE_PERSONS)}
    extra = "".join(f"{9990000 + i},{ids[name]},{name},1,19400101,{region},1,20000101,0{eol}"
                    for i, (name, region) in enumerate(HOSTILE_PERSONS.items()))
    ac01 = (latest_ac01.rstrip("\r\n") + eol + extra).encode("gb18030")
    _resend(landing / "pension" / d, {"ac01_person.csv": ac01})
    # medical: one settlement line longer than conf/ingest.yaml line_chars
    long_line = json.dumps({"setl_id": "S-LONG", "dise_name": "很" * 70000}, ensure_ascii=False) + "\n"
    _resend(landing / "medical" / d, {"setl.jsonl.gz": gzip.compress(long_line.encode(), mtime=0)},
            rows={"setl.jsonl.gz": 1})
    # transit: taps with nanosecond timestamps
    taps = pa.table({"card_no": ["000000000001"], "tap_time": pa.array([1], pa.timestamp("ns")),
                     "line_id": ["L1"], "stop_id": ["S1"], "device_id": ["D1"],
                     "fare_cents": pa.array([0], pa.int32())})
    buf = io.BytesIO()
    pq.write_table(taps, buf)
    for old in (landing / "transit" / d).glob("taps/*.parquet"):
        old.unlink()
    body = _manifest(landing / "transit" / d)
    body["files"] = [f for f in body["files"] if not f["name"].startswith("taps/")]
    (landing / "transit" / d / "_MANIFEST.json").write_text(json.dumps(body), encoding="utf-8")
    _resend(landing / "transit" / d, {"taps/part-00000.parquet": buf.getvalue()}, rows={"taps/part-00000.parquet": 1})
    # civil affairs: a row count no integer can hold
    folder = landing / "civil_affairs" / d
    body = _manifest(folder)
    body["sequence"] = int(body.get("sequence", 1)) + 1
    body["files"][0]["rows"] = "HUGE"
    (folder / "_MANIFEST.json").write_text(json.dumps(body).replace('"HUGE"', "1e999"), encoding="utf-8")
    # bank: a manifest name leaving the delivery folder
    body = _manifest(landing / "bank" / d)
    body["sequence"] = int(body.get("sequence", 1)) + 1
    body["files"][0]["name"] = "../../pension/" + d + "/ac01_person.csv"
    (landing / "bank" / d / "_MANIFEST.json").write_text(json.dumps(body), encoding="utf-8")
    # public security: an emptied 常住人口 snapshot (a truncated extract), held back
    header = (landing / "public_security" / czrk_day.isoformat() / "czrk.csv").read_bytes().splitlines(True)[0]
    _resend(landing / "public_security" / d, {"czrk.csv": header}, rows={"czrk.csv": 0})
    # a folder that is no extract date: never read
    odd = landing / "pension" / d.replace("-", "")
    shutil.copytree(landing / "pension" / d, odd)
    return ids


def _nightly(env: Env, day: dt.date, run_id: str) -> subprocess.Popen:
    environ = {**os.environ, ENV_JSON_VAR: env_to_json(env), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "lakehouse.cli", "nightly", "--run-date", day.isoformat(),
                             "--run-id", run_id], env=environ, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _cli(env: Env, *args: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, ENV_JSON_VAR: env_to_json(env), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "lakehouse.cli", *args], env=environ, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=3600, check=False)


@pytest.fixture(scope="module")
def night(nightly_lake: Lake, tmp_path_factory) -> Night:  # type: ignore[no-untyped-def]
    original = nightly_lake.env
    root = tmp_path_factory.mktemp("hostile")
    for part in ("lake", "exports", "state"):
        shutil.copytree(getattr(original.paths, part), root / part, symlinks=True)
    shutil.copytree(original.paths.landing, root / "landing", symlinks=True)
    env = dataclasses.replace(make_env(root, landing=root / "landing"), services=original.services)
    day, before = nightly_lake.dates[-1], nightly_lake.dates[-2]
    clean_exports = folder_digest(original.paths.exports / day.isoformat())

    saved = root / "agency_originals"
    for source in ("pension", "medical", "transit", "civil_affairs", "bank", "public_security"):
        shutil.copytree(env.paths.landing / source / day.isoformat(), saved / source)
    log = lake.read_arrow(original, "ops.deliveries").to_pylist()

    def latest_snapshot(source: str, file: str) -> dt.date:
        return max(r["extract_date"] for r in log
                   if r["source"] == source and r["status"] == "LOADED" and file in (r["files_json"] or ""))

    ids = _hostile_deliveries(env.paths.landing, day, latest_snapshot("pension", "ac01_person.csv"),
                              latest_snapshot("public_security", "czrk.csv"))

    # two runs of the same night at once
    a = _nightly(env, day, "hostile__a")
    time.sleep(3)  # let the first take the lake, so which one waits is known
    b = _nightly(env, day, "hostile__b")
    out_b, err_b = b.communicate(timeout=600)
    out_a, err_a = a.communicate(timeout=3600)
    first = subprocess.CompletedProcess(a.args, a.returncode, out_a, err_a)
    second = subprocess.CompletedProcess(b.args, b.returncode, out_b, err_b)
    hostile_exports = root / "hostile_exports"
    if (env.paths.exports / day.isoformat()).exists():
        shutil.copytree(env.paths.exports / day.isoformat(), hostile_exports)
    return Night(env, original, day, before, first, second, clean_exports, hostile_exports, ids)


def _attempts(env: Env, day: dt.date) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in lake.read_arrow(env, "ops.delivery_attempts").to_pylist():
        if r["extract_date"] == day:
            out.setdefault(r["source"], []).append(r)
    return out


def test_a_second_nightly_is_refused_naming_the_first_and_writes_nothing(night: Night) -> None:
    assert night.first.returncode == 0, night.first.stderr[-3000:]
    assert night.second.returncode == 75, night.second.stderr[-3000:]
    assert "busy" in night.second.stderr and "hostile__a" in night.second.stderr, night.second.stderr[-2000:]
    runs = {r["run_id"] for r in lake.read_arrow(night.env, "ops.run_versions").to_pylist()}
    assert "hostile__a" in runs and "hostile__b" not in runs
    # the lake holds one run's work: each re-sent delivery was examined once, by the first run
    attempts = [a for rows in _attempts(night.env, night.day).values() for a in rows]
    by_run: dict[str, dict[str, int]] = {}
    for a in attempts:
        by_run.setdefault(a["run_id"], {}).setdefault(a["source"], 0)
        by_run[a["run_id"]][a["source"]] += 1
    assert by_run["hostile__a"] == {s: 1 for s in ("pension", "medical", "transit", "civil_affairs", "bank",
                                                   "public_security")}, by_run
    assert "hostile__b" not in by_run


@pytest.mark.parametrize(("source", "reason_parts"), [
    ("medical", ("setl.jsonl.gz", "line")),
    ("transit", ("part-00000.parquet",)),
    ("civil_affairs", ("rows",)),
    ("bank", ("leaves",)),
    ("public_security", ("czrk: 0 records", "held back")),
])
def test_each_hostile_resend_is_rejected_with_its_reason_and_the_good_sequence_stays(
        night: Night, source: str, reason_parts: tuple[str, ...]) -> None:
    log = {r["source"]: r for r in lake.read_arrow(night.env, "ops.deliveries").to_pylist()
           if r["extract_date"] == night.day}
    clean = {r["source"]: r for r in lake.read_arrow(night.original, "ops.deliveries").to_pylist()
             if r["extract_date"] == night.day}
    assert log[source]["status"] == clean[source]["status"] == "LOADED"
    assert log[source]["sequence"] == clean[source]["sequence"], "a rejected re-send never hides the good one"
    rejected = [a for a in _attempts(night.env, night.day).get(source, []) if a["status"] == "REJECTED"]
    assert len(rejected) == 1, rejected
    for part in reason_parts:
        assert part in rejected[0]["reason"], rejected[0]["reason"]


def test_the_loaded_resend_and_the_odd_folder(night: Night) -> None:
    log = {(r["source"], r["extract_date"]): r for r in lake.read_arrow(night.env, "ops.deliveries").to_pylist()}
    assert log[("pension", night.day)]["status"] == "LOADED" and log[("pension", night.day)]["sequence"] == 2
    assert all(str(d) != night.day.isoformat().replace("-", "") for _, d in log)  # never read
    q = lake.read_arrow(night.env, "quarantine.records").to_pylist()
    bad = [r for r in q if r["_file"] == "ac01_person.csv" and r["_extract_date"] == night.day
           and "BAD_CODE:AAB301" in (r["reasons"] if isinstance(r["reasons"], str) else ",".join(r["reasons"]))]
    raw = "\n".join(str(r["raw_record"]) for r in bad)
    assert len(bad) == len(BAD_REGIONS) and all(region in raw for region in BAD_REGIONS), raw


def test_every_region_gets_its_files_with_safe_cells(night: Night) -> None:
    folder = night.hostile_exports
    regions = {r["region"] for r in lake.read_arrow(night.env, "silver.pension_person").to_pylist() if r["retired"]}
    assert len(regions) > 1 and not regions & BAD_REGIONS
    checked = 0
    for region in sorted(regions):
        for path in (folder / "risk_list" / f"risk_list_{region}.csv", folder / "risk_list" / f"risk_list_{region}.xlsx",
                     folder / "certification" / f"certification_{region}.csv"):
            assert path.is_file(), path
            checked += 1
    assert checked == 3 * len(regions)
    assert sorted(p.name for p in folder.iterdir()) == ["certification", "manifest.json", "risk_list"]
    # the hostile pensioners' rows: masked names that start like a formula are text
    cert: dict[str, str] = {}
    for path in sorted((folder / "certification").glob("*.csv")):
        for row in csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()):
            cert[row["certno_masked"]] = row["name_masked"]
    masked = {name: cert.get(night.hostile_ids[name][:6] + "********" + night.hostile_ids[name][-4:])
              for name in HOSTILE_PERSONS if HOSTILE_PERSONS[name] not in BAD_REGIONS}
    assert masked == {"=1+2": "'=*2", "@合计": "'@*计", "-陈明": "'-*明", "王\x07五": "王*"}, masked
    for path in sorted(folder.rglob("*.xlsx")):
        for ws in load_workbook(path, read_only=True):
            for row in ws.iter_rows(values_only=True):
                for value in row:
                    live = isinstance(value, str) and value.startswith(("=", "+", "-", "@")) and not NUMBER.match(value)
                    assert not live, (path, value)


def test_restore_then_the_agencies_originals_give_the_clean_nights_exports(night: Night) -> None:
    env, day = night.env, night.day
    assert folder_digest(night.hostile_exports) != night.clean_exports  # the hostile night did change them
    restored = _cli(env, "restore", "--run-date", night.before.isoformat())
    assert restored.returncode == 0, restored.stderr[-3000:]
    saved = env.paths.exports.parent / "agency_originals"
    for source_folder in sorted(saved.iterdir()):
        target = env.paths.landing / source_folder.name / day.isoformat()
        shutil.rmtree(target)
        shutil.copytree(source_folder, target)
    shutil.rmtree(env.paths.landing / "pension" / day.isoformat().replace("-", ""))
    rerun = _cli(env, "nightly", "--run-date", day.isoformat(), "--run-id", "hostile__rerun")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert folder_digest(env.paths.exports / day.isoformat()) == night.clean_exports
    for table in ("silver.person", "silver.pension_person", "gold.certification", "gold.risk_clue"):
        rerun, clean = lake.read_arrow(env, table), lake.read_arrow(night.original, table)
        order = [(f.name, "ascending") for f in clean.schema if not pa.types.is_nested(f.type)]
        assert clean.num_rows > 0 and rerun.sort_by(order).equals(clean.sort_by(order)), table
