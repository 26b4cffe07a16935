"""An OpenAI-compatible chat-completions stand-in on 127.0.0.1, scripted by a responder function.

It speaks real HTTP in the API's shapes (what `chat.completions.create` and `.parse` read), checks the
bearer token, reports deterministic token usage, injects faults, and logs every request it receives.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Reply:
    """A full assistant turn, for answers a plain string cannot express (refusals, cut-off or filtered answers)."""

    content: str | None = None
    refusal: str | None = None
    finish_reason: str = "stop"


Responder = Callable[[dict[str, Any]], str | Reply]
"""Request JSON → the assistant message content (or a `Reply`)."""


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    body: dict[str, Any] | None
    """The request JSON (None when the body was not a JSON object)."""
    status: int
    authorized: bool
    usage: dict[str, int] | None
    """The usage block the stand-in reported (None for errors)."""
    at: float
    """time.monotonic() when the answer was ready."""


@dataclass
class Fault:
    """Answer `status` (with `headers` and an OpenAI-shaped error body) to the next `times` requests
    whose path matches; e.g. Fault(429, headers={"retry-after": "0"}) or Fault(500, times=2).

    `raw` is sent as the body instead of JSON, e.g. Fault(200, raw=b"<html>...") for a proxy that
    garbles answers (`headers` may set its Content-Type; application/json otherwise).
    """

    status: int
    times: int = 1
    headers: dict[str, str] | None = None
    body: dict[str, Any] | None = None
    path_pattern: str = "^" + re.escape(CHAT_PATH) + "$"
    raw: bytes | None = None

    def applies(self, path: str) -> bool:
        return self.times > 0 and bool(re.search(self.path_pattern, path))


def echo_responder(request: dict[str, Any]) -> str:
    """The default script: a JSON object that names the last user message's length."""
    messages = request.get("messages") or [{}]
    return json.dumps({"echo": len(_text_of(messages[-1].get("content")))})


class OpenAIStandIn:
    """Serves POST /v1/chat/completions on 127.0.0.1; use as a context manager or call start()/stop().

    `responder` (settable at any time) writes the assistant's answer; `api_key`, when set, is the only
    bearer token accepted (otherwise any non-empty one is); `faults` are consumed before the responder.
    """

    def __init__(
        self,
        responder: Responder = echo_responder,
        *,
        api_key: str | None = None,
        latency: float = 0.0,
        port: int = 0,
    ) -> None:
        self.responder = responder
        self.api_key = api_key
        self.latency = latency
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._completions = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL the SDK takes (`OPENAI_BASE_URL`), ending in /v1."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> OpenAIStandIn:
        # A short poll keeps stop() (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), name="openai-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OpenAIStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests read ---------------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """A snapshot of every request received, in order."""
        with self._lock:
            return list(self._requests)

    def count(self, status: int | None = None) -> int:
        """How many requests were received (with answer `status`, if given)."""
        with self._lock:
            return sum(1 for r in self._requests if status in (None, r.status))

    def usage_totals(self) -> dict[str, int]:
        """The token usage reported over all answers, summed."""
        totals = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        with self._lock:
            for request in self._requests:
                for key in totals:
                    totals[key] += (request.usage or {}).get(key, 0)
        return totals

    # --- routing -------------------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, authorization: str | None, payload: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any] | bytes]:
        path = urlsplit(raw_path).path.rstrip("/") or "/"
        body = _json_object(payload)
        authorized = self._authorized(authorization)
        usage: dict[str, int] | None = None
        status, headers, answer = self._faulted(path)
        if status == 0:
            if not authorized:
                status, answer = 401, _error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            elif path != CHAT_PATH:
                status, answer = 404, _error(f"Unknown request URL: {method} {path}.", "invalid_request_error")
            elif method != "POST":
                status, answer = 405, _error(f"Method {method} not allowed.", "invalid_request_error")
            elif body is None or not isinstance(body.get("messages"), list) or not body.get("model"):
                status, answer = 400, _error("'model' and 'messages' are required.", "invalid_request_error")
            else:
                status, answer, usage = self._complete(body)
        with self._lock:
            self._requests.append(ReceivedRequest(method, path, body, status, authorized, usage, time.monotonic()))
            number = len(self._requests)
        return status, {"x-request-id": f"req_{number:06d}", **headers}, answer

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return self.api_key is None or token.strip() == self.api_key

    def _faulted(self, path: str) -> tuple[int, dict[str, str], dict[str, Any] | bytes]:
        """The next matching fault's answer, or status 0 when none applies."""
        with self._lock:
            for fault in self.faults:
                if fault.applies(path):
                    fault.times -= 1
                    body = fault.body or _error(f"Injected fault {fault.status}.", "server_error")
                    return fault.status, dict(fault.headers or {}), body if fault.raw is None else fault.raw
        return 0, {}, {}

    def _complete(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, int] | None]:
        try:
            answer = self.responder(body)
        except Exception as exc:
            return 500, _error(f"responder failed: {type(exc).__name__}: {exc}", "server_error"), None
        reply = answer if isinstance(answer, Reply) else Reply(content=answer)
        prompt_chars = sum(len(_text_of(m.get("content"))) for m in body["messages"] if isinstance(m, dict))
        answer_chars = len(reply.content or reply.refusal or "")
        usage = {"prompt_tokens": prompt_chars // 4 + 1, "completion_tokens": answer_chars // 4 + 1}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        with self._lock:
            self._completions += 1
            number = self._completions
        completion = {
            "id": f"chatcmpl-standin{number:06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": reply.content,
                        "refusal": reply.refusal,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": "fp_standin",
        }
        return 200, completion, usage


def _text_of(content: Any) -> str:
    """A message's text, whether `content` is a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _json_object(payload: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(payload or b"null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    """An error body in the API's shape."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _handler_for(stand_in: OpenAIStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received = self.rfile.read(length) if length else b""
            if stand_in.latency:
                time.sleep(stand_in.latency)
            status, headers, body = stand_in.handle(method, self.path, self.headers.get("Authorization"), received)
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout test): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the stand-in keeps its own request log."""

    return Handler
