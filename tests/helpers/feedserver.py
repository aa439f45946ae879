"""A real HTTP server on a loopback port that serves feed files, with ETag and
Last-Modified like a real web server, and misbehaving paths:

- ``/404``: not found
- ``/loop``: redirects to itself forever
- ``/redirect?to=URL``: one redirect to URL
- ``/slow``: answers after 3 seconds
- ``/drip``: sends headers, then one byte every 0.2 seconds for 5 seconds
- ``/huge``: 200 kB without Content-Length; ``/huge-declared``: announces 50 MB
- ``/gzip-bomb``: 10 kB of gzip that unpacks to 10 MB
"""

import email.utils
import gzip
import hashlib
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

FEEDS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "feeds")
LAST_MODIFIED = email.utils.formatdate(1_700_000_000, usegmt=True)

CONTENT_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml", ".xml": "application/xml",
                 ".html": "text/html; charset=utf-8"}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        pass  # clients that give up early (timeouts, size limits) are expected


class FeedServer:
    """``tls=(certfile, keyfile)`` serves HTTPS and records the SNI names
    clients send in ``sni``."""

    def __init__(self, tls=None):
        self.routes = {}
        self.requests = []  # (path, headers) of every request, in order
        self.sni = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                server.handle(self)

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls else "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = lambda sock, name, ctx: self.sni.append(name)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path, host="127.0.0.1"):
        return f"{self.scheme}://{host}:{self.port}{path}"

    def serve(self, path, body, content_type="application/rss+xml", etag=True):
        """Serve ``body`` (bytes, str or the name of a file in tests/feeds)."""
        if isinstance(body, str) and os.path.isfile(os.path.join(FEEDS, body)):
            if content_type == "application/rss+xml":
                content_type = CONTENT_TYPES.get(os.path.splitext(body)[1], content_type)
            with open(os.path.join(FEEDS, body), "rb") as fh:
                body = fh.read()
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = (body, content_type, etag)
        return self.url(path)

    def requests_for(self, path):
        return [headers for p, headers in self.requests if p == path]

    def handle(self, request):
        parts = urlsplit(request.path)
        path = parts.path
        if path in self.routes:
            body, content_type, use_etag = self.routes[path]
            tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            headers = {"Content-Type": content_type, "Last-Modified": LAST_MODIFIED}
            if use_etag:
                headers["ETag"] = tag
            if (use_etag and request.headers.get("If-None-Match") == tag) or (
                    not use_etag and request.headers.get("If-Modified-Since") == LAST_MODIFIED):
                return self.send(request, 304, b"", headers)
            return self.send(request, 200, body, headers)
        if path == "/loop":
            return self.send(request, 302, b"", {"Location": "/loop"})
        if path == "/redirect":
            return self.send(request, 302, b"", {"Location": parse_qs(parts.query)["to"][0]})
        if path == "/slow":
            time.sleep(3)
            return self.send(request, 200, b"<rss/>", {"Content-Type": "application/rss+xml"})
        if path == "/drip":
            request.send_response(200)
            request.send_header("Content-Type", "application/rss+xml")
            request.send_header("Connection", "close")
            request.end_headers()
            try:
                for _ in range(25):
                    request.wfile.write(b" ")
                    request.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
            request.close_connection = True
            return None
        if path == "/huge":
            request.send_response(200)
            request.send_header("Content-Type", "application/rss+xml")
            request.send_header("Connection", "close")
            request.end_headers()
            try:
                request.wfile.write(b"<rss>" + b"x" * 200_000)
            except OSError:
                pass
            request.close_connection = True
            return None
        if path == "/huge-declared":
            request.send_response(200)
            request.send_header("Content-Type", "application/rss+xml")
            request.send_header("Content-Length", str(50_000_000))
            request.end_headers()
            request.close_connection = True
            return None
        if path == "/gzip-bomb":
            body = gzip.compress(b"\0" * 10_000_000)
            return self.send(request, 200, body, {"Content-Type": "application/rss+xml",
                                                  "Content-Encoding": "gzip"})
        if path == "/echo-host":
            return self.send(request, 200, request.headers.get("Host", "").encode(), {"Content-Type": "text/plain"})
        return self.send(request, 404, b"Not found", {"Content-Type": "text/plain"})

    @staticmethod
    def send(request, status, body, headers):
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        if status != 304:
            request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if status != 304:
            request.wfile.write(body)
