"""The floor for the public pages: a minimal Flask app that answers every path at once.

    gunicorn -w 2 --threads 4 bench.floor_app:app

FLOOR_PAGE_BYTES (JSON, path to size) makes each page as long as Casework's own, so both
send the same bytes; any other path gets a short page.
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response

app = Flask(__name__)

_SHELL = "<!doctype html><html lang=en><title>floor</title><p>"


def _body(size: int) -> bytes:
    return (_SHELL + "x" * max(0, size - len(_SHELL))).encode()


BODIES = {
    path: _body(int(size))
    for path, size in json.loads(os.environ.get("FLOOR_PAGE_BYTES", "{}")).items()
}
SHORT = _body(64)


@app.get("/", defaults={"path": ""})
@app.get("/<path:path>")
def page(path: str) -> Response:
    return Response(BODIES.get("/" + path, SHORT), mimetype="text/html")
