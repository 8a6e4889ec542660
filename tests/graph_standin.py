"""A local stand-in for the Graph API's `GET /<leadgen_id>`, for Meta Lead Ads tests only."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class GraphStandIn:
    """Serves leads put in `leads`; answers `fail_with` when set; records each request's token."""

    def __init__(self, token: str):
        self.token = token
        self.leads: dict[str, dict] = {}
        self.fail_with: int | None = None
        self.tokens_seen: list[str] = []

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        self.tokens_seen.append(request.headers.get("Authorization", ""))
        leadgen_id = request.path.rstrip("/").rsplit("/", 1)[-1]
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            response = Response(json.dumps({"error": {"message": "Invalid OAuth access token"}}), 400)
        elif self.fail_with:
            response = Response(json.dumps({"error": {"message": "boom"}}), self.fail_with)
        elif leadgen_id in self.leads:
            response = Response(json.dumps(self.leads[leadgen_id]), 200, content_type="application/json")
        else:
            response = Response(json.dumps({"error": {"message": "Unsupported get request"}}), 400)
        return response(environ, start_response)


@contextmanager
def graph_standin(token: str) -> Iterator[tuple[GraphStandIn, str]]:
    """Run the stand-in on a free port; yield it and its base URL."""
    app = GraphStandIn(token)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}/v21.0"
    finally:
        server.shutdown()
