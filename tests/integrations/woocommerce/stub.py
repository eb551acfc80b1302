"""A scripted stand-in for a WooCommerce store over real HTTP, for the failure modes the sandbox
does not make on demand (a 429 with Retry-After, 5xx, a revoked key): each request gets the next
scripted answer (the last one repeats) and is recorded."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorded:
    method: str
    path: str
    args: dict[str, list[str]]
    body: Any


class StubStore:
    def __init__(self, answers: list[Answer]) -> None:
        self.answers = list(answers)
        self.requests: list[Recorded] = []
        self.url = ""

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        body = json.loads(request.get_data() or b"null")
        self.requests.append(Recorded(request.method, request.path, request.args.to_dict(flat=False), body))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        response = Response(json.dumps(answer.body), status=answer.status, headers=answer.headers,
                            content_type="application/json; charset=UTF-8")
        return response(environ, start_response)


@contextmanager
def stub_store(*answers: Answer) -> Iterator[StubStore]:
    store = StubStore(list(answers))
    server = make_server("127.0.0.1", 0, store, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    store.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield store
    finally:
        server.shutdown()
        thread.join(timeout=5)
