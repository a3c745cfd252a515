"""Trino's query audit log: receives the HTTP event listener's events, appends them to a file.

Trino 476 has no file event listener; its HTTP event listener POSTs each completed query as
JSON. This small server (started beside Trino by `lakehouse trino start`, 127.0.0.1 only, on a
port of its choosing written to `--port-file`) keeps one JSON line per query in `--out`: when,
who (user, principal, source), the statement, the tables read, the outcome, and
`sensitive: true` when an audited user sent it or it touched an audited schema (breakglass reads
of `restricted`, denied attempts included). The file is append-only for its readers (mode 640).

    python -m lakehouse.services.audit_sink --out FILE --port-file FILE --schemas restricted --users breakglass
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_lock = threading.Lock()


def summarise(event: dict[str, Any], schemas: set[str], users: set[str]) -> dict[str, Any]:
    """The audit record of one QueryCompletedEvent (fields read defensively: the JSON is Trino's)."""
    meta, ctx = event.get("metadata") or {}, event.get("context") or {}
    inputs = (event.get("ioMetadata") or {}).get("inputs") or []
    tables = sorted({f"{i.get('catalogName')}.{i.get('schema')}.{i.get('table')}" for i in inputs})
    query = str(meta.get("query") or "")
    failure = event.get("failureInfo") or {}
    touched = {t.split(".")[1] for t in tables} | {
        s for s in schemas if f"{s}." in query.lower()  # denied queries list no inputs: look at the text
    }
    return {
        "query_id": meta.get("queryId"),
        "user": ctx.get("user"),
        "principal": ctx.get("principal"),
        "source": ctx.get("source"),
        "remote_address": ctx.get("remoteClientAddress"),
        "create_time": event.get("createTime"),
        "end_time": event.get("endTime"),
        "state": meta.get("queryState"),
        "error": failure.get("errorCode", {}).get("name") if isinstance(failure.get("errorCode"), dict) else None,
        "tables": tables,
        "query": query,
        "sensitive": ctx.get("user") in users or bool(touched & schemas),
    }


def append(out: Path, record: dict[str, Any]) -> None:
    line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
    with _lock:
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line)


def serve(out: Path, port_file: Path, schemas: set[str], users: set[str], host: str = "127.0.0.1") -> None:
    """Serve until killed; every POSTed completed-query event becomes one line of `out`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = json.loads(body or b"{}")
                if isinstance(event, dict) and event.get("metadata"):
                    append(out, summarise(event, schemas, users))
                self.send_response(200)
            except ValueError:
                self.send_response(400)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the audit file is the log; request lines would only repeat it

    server = ThreadingHTTPServer((host, 0), Handler)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--schemas", nargs="*", default=[])
    parser.add_argument("--users", nargs="*", default=[])
    args = parser.parse_args(argv)
    os.umask(0o027)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    serve(args.out, args.port_file, set(args.schemas), set(args.users))


if __name__ == "__main__":
    main()
