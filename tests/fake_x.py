"""A loopback stand-in for X's oEmbed and syndication endpoints, answering per post.

Each post (by status id) is given a behaviour; the server answers both endpoints the way
tests/integration/test_removal_checks.py's docstring records X's answers, including the
ways an answer fails (slow, rate limited, malformed, connection reset).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

UP = "up"
DELETED = "deleted"
PROTECTED = "protected"
SUSPENDED = "suspended"
WITHHELD = "withheld"
AGE_RESTRICTED = "age_restricted"
SLOW = "slow"
RATE_LIMITED = "rate_limited"
MALFORMED = "malformed"
RESET = "reset"

# A line of the post: the check must never keep it anywhere.
POST_TEXT = "post text that must never be stored"
RETRY_AFTER_SECONDS = 120
SLOW_SECONDS = 3.0

_TOMBSTONES = {
    PROTECTED: "You’re unable to view this Post because this account owner limits who can "
    "view their Posts. Learn more",
    SUSPENDED: "This Post is from a suspended account. Learn more",
    WITHHELD: "This Post has been withheld in Germany in response to a legal demand. Learn more",
    AGE_RESTRICTED: "Age-restricted adult content. This content might not be appropriate for "
    "people under 18 years old. To view this media, you’ll need to log in to X. Learn more",
}


class FakeX:
    """Behaviours by status id (default: up) and every request path seen, in order."""

    def __init__(self) -> None:
        self.behaviour: dict[str, str] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.requests.append(self.path)
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                if parts.path.endswith("/oembed"):
                    post_url = query.get("url", [""])[0]
                    status_id = post_url.rstrip("/").rsplit("/", 1)[-1]
                    outer._oembed(self, status_id, post_url)
                elif parts.path.endswith("/tweet-result"):
                    outer._syndication(self, query.get("id", [""])[0])
                else:
                    self._send(404, b"", "text/plain")

            def _send(self, status: int, body: bytes, kind: str, **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up waiting (the slow answer)

            def log_message(self, *_: object) -> None:
                return

        self.handler = Handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        port = self.server.server_address[1]
        self.oembed_url = f"http://127.0.0.1:{port}/oembed"
        self.syndication_url = f"http://127.0.0.1:{port}/tweet-result"

    def _failure(self, handler: BaseHTTPRequestHandler, behaviour: str) -> bool:
        send = handler._send  # type: ignore[attr-defined]
        if behaviour == SLOW:
            time.sleep(SLOW_SECONDS)  # the slowness under test: the client must give up first
            send(
                200, json.dumps({"html": "<blockquote></blockquote>"}).encode(), "application/json"
            )
            return True
        if behaviour == RATE_LIMITED:
            body = json.dumps({"errors": [{"message": "Rate limit exceeded", "code": 88}]})
            send(429, body.encode(), "application/json", Retry_After=str(RETRY_AFTER_SECONDS))
            return True
        if behaviour == MALFORMED:
            send(200, b'{"html": "<blockquote', "application/json")
            return True
        if behaviour == RESET:
            # SO_LINGER with a zero timeout: close() sends a TCP reset, not a clean end.
            connection: socket.socket = handler.connection
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()
            handler.close_connection = True
            return True
        return False

    def _oembed(self, handler: BaseHTTPRequestHandler, status_id: str, post_url: str) -> None:
        behaviour = self.behaviour.get(status_id, UP)
        send = handler._send  # type: ignore[attr-defined]
        if self._failure(handler, behaviour):
            return
        if behaviour in (UP, AGE_RESTRICTED):
            document = {
                "url": post_url,
                "author_name": "someone",
                "author_url": "https://twitter.com/someone",
                "html": f'<blockquote class="twitter-tweet"><p>{POST_TEXT}</p></blockquote>',
                "width": 550,
                "height": None,
                "type": "rich",
                "cache_age": "3153600000",
                "provider_name": "Twitter",
                "provider_url": "https://twitter.com",
                "version": "1.0",
            }
            send(200, json.dumps(document).encode(), "application/json")
        elif behaviour == DELETED:
            send(404, b"", "text/html")
        else:  # protected, suspended, withheld: cannot be embedded
            send(403, b"", "text/html")

    def _syndication(self, handler: BaseHTTPRequestHandler, status_id: str) -> None:
        behaviour = self.behaviour.get(status_id, UP)
        send = handler._send  # type: ignore[attr-defined]
        if self._failure(handler, behaviour):
            return
        if behaviour == UP:
            document: dict[str, object] = {
                "__typename": "Tweet",
                "id_str": status_id,
                "text": POST_TEXT,
            }
        elif behaviour == DELETED:
            send(404, b"", "text/html")
            return
        else:
            document = {
                "__typename": "TweetTombstone",
                "tombstone": {
                    "text": {"text": _TOMBSTONES[behaviour], "entities": [], "rtl": False}
                },
            }
        send(200, json.dumps(document).encode(), "application/json")


@contextmanager
def fake_x() -> Iterator[FakeX]:
    fake = FakeX()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
