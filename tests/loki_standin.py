"""A protocol-faithful stand-in for Loki's HTTP API, for tests only: no Loki binary exists in any
registry this project can use, so Luna's real client (luna_core.ops.logs) talks real HTTP to this.

It speaks what Fluent Bit and the client use, as Loki documents it: ``POST /loki/api/v1/push`` (JSON
streams of [nanosecond timestamp, line]), ``GET /loki/api/v1/query_range`` (query, limit, start, end,
direction) answering ``{"status": "success", "data": {"resultType": "streams", "result": [...]}}``, and
``GET /ready``. LogQL is evaluated for the part the client writes: a stream selector with =, !=, =~,
!~ (regexes anchored, as in Loki), ``| json`` with or without named extractions (extracted labels
join the result's stream labels, as in Loki), and label filters joined by ``or``. Anything else is
a 400 "parse error", as Loki answers, so a client query outside that part fails here loudly.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

STRING = r'"((?:[^"\\]|\\.)*)"'
MATCHER = re.compile(rf"\s*([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*{STRING}\s*")
JSON_STAGE = re.compile(rf"json((?:\s+[a-zA-Z_]\w*\s*=\s*{STRING}\s*,?)*)\s*$")
EXTRACTION = re.compile(rf"([a-zA-Z_]\w*)\s*=\s*{STRING}")


class LogQLError(ValueError):
    pass


def _unquote(text: str) -> str:
    return json.loads(f'"{text}"')


def _matches(labels: dict[str, str], name: str, op: str, value: str) -> bool:
    have = labels.get(name, "")
    if op == "=":
        return have == value
    if op == "!=":
        return have != value
    found = re.fullmatch(value, have) is not None
    return found if op == "=~" else not found


def _matchers(text: str) -> list[tuple[str, str, str]]:
    out = []
    for part in _split(text, ","):
        match = MATCHER.fullmatch(part)
        if not match:
            raise LogQLError(f"parse error: {part!r}")
        out.append((match.group(1), match.group(2), _unquote(match.group(3))))
    return out


def _split(text: str, separator: str) -> list[str]:
    """Split on a one-character separator outside double-quoted strings."""
    parts, current, quoted, escaped = [], "", False, False
    for char in text:
        if quoted:
            if char == '"' and not escaped:
                quoted = False
            escaped = char == "\\" and not escaped
            current += char
        elif char == separator:
            parts.append(current)
            current = ""
        else:
            quoted = char == '"'
            current += char
    parts.append(current)
    return parts


def evaluate(query: str, streams: list[tuple[dict[str, str], int, str]]) -> list[tuple[dict[str, str], int, str]]:
    match = re.fullmatch(r"\s*\{(.*?)\}(.*)", query, re.S)
    if not match:
        raise LogQLError("parse error: a query starts with a stream selector")
    selector = _matchers(match.group(1))
    stages = [stage.strip() for stage in _split(match.group(2), "|")[1:]]
    if _split(match.group(2), "|")[0].strip():
        raise LogQLError(f"parse error: {match.group(2)!r}")
    out = []
    for labels, ts, line in streams:
        if not all(_matches(labels, *m) for m in selector):
            continue
        current, keep = dict(labels), True
        for stage in stages:
            if json_stage := JSON_STAGE.fullmatch(stage):
                try:
                    record = json.loads(line)
                except ValueError:
                    current["__error__"] = "JSONParserErr"
                    continue
                wanted = {name: _unquote(path) for name, path in EXTRACTION.findall(json_stage.group(1))}
                fields = {name: record.get(path) for name, path in wanted.items()} if wanted else record
                for name, value in fields.items():
                    if value is not None and not isinstance(value, dict | list):
                        current[name] = value if isinstance(value, str) else json.dumps(value)
            else:
                alternatives = [MATCHER.fullmatch(part) for part in re.split(r"\s+or\s+", stage)]
                if not all(alternatives):
                    raise LogQLError(f"parse error: unsupported stage {stage!r}")
                if not any(_matches(current, a.group(1), a.group(2), _unquote(a.group(3))) for a in alternatives):
                    keep = False
                    break
        if keep:
            out.append((current, ts, line))
    return out


class LokiStandIn:
    def __init__(self) -> None:
        self.entries: list[tuple[dict[str, str], int, str]] = []
        self.queries: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/ready":
                    return self._answer(200, "ready")
                if url.path != "/loki/api/v1/query_range":
                    return self._answer(404, "404 page not found")
                params = {k: v[-1] for k, v in parse_qs(url.query).items()}
                stand_in.queries.append(params.get("query", ""))
                try:
                    self._answer(200, stand_in.query_range(params))
                except LogQLError as error:
                    self._answer(400, str(error))

            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/loki/api/v1/push":
                    return self._answer(404, "404 page not found")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                for stream in body["streams"]:
                    for ts, line in stream["values"]:
                        stand_in.entries.append((dict(stream["stream"]), int(ts), line))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def query_range(self, params: dict[str, str]) -> dict:
        if "query" not in params:
            raise LogQLError("parse error: query is required")
        limit = int(params.get("limit", "100"))
        start, end = int(params.get("start", "0")), int(params.get("end", str(2**63)))
        backward = params.get("direction", "backward") == "backward"
        found = [e for e in evaluate(params["query"], self.entries) if start <= e[1] < end]
        found.sort(key=lambda e: e[1], reverse=backward)
        streams: dict[tuple, dict] = {}
        for labels, ts, line in found[:limit]:
            key = tuple(sorted(labels.items()))
            streams.setdefault(key, {"stream": labels, "values": []})["values"].append([str(ts), line])
        return {"status": "success", "data": {"resultType": "streams", "result": list(streams.values()), "stats": {}}}

    def __enter__(self) -> LokiStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
