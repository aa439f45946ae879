"""The bounded fetcher: what it refuses (internal addresses, other schemes,
oversize, slow, endless redirects) and what it gets right, against a real
HTTP(S) server on a loopback port."""

import shutil
import socket
import subprocess

import pytest

from helpers.feedserver import FeedServer
from intranet_plugin.content.fetch import FetchError, fetch, guess_encoding, is_internal


@pytest.fixture
def server():
    with FeedServer() as feed_server:
        yield feed_server


def test_fetches_a_feed_with_headers_final_url_and_encoding(server):
    url = server.serve("/news.rss", "news.rss")
    response = fetch(url, allow_private=True)
    assert response.status == 200 and response.ok
    assert response.url == url
    assert response.headers["content-type"] == "application/rss+xml"
    assert response.headers["ETAG"].startswith('"')
    assert response.encoding == "utf-8"
    assert b"Northwind News" in response.body


def test_loopback_is_refused_unless_allowed(server, make_app):
    url = server.serve("/news.rss", "news.rss")
    with pytest.raises(FetchError, match="internal address"):
        fetch(url)  # outside an app: never allowed
    with make_app().app_context(), pytest.raises(FetchError, match=r"127\.0\.0\.1 points to an internal address"):
        fetch(url)
    with make_app(FETCH_ALLOW_PRIVATE=True).app_context():
        assert fetch(url).status == 200
    assert len(server.requests) == 1  # the refused attempts never connected


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.1/", "http://2130706433/", "http://0x7f.0.0.1/", "http://localhost/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://[::]/",
    "http://10.0.0.8/", "http://172.16.4.4/", "http://192.168.1.1/", "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://[fc00::1]/",
    "http://224.0.0.1/", "http://[ff02::1]/", "http://240.0.0.1/", "http://255.255.255.255/",
    "http://[64:ff9b::a00:1]/", "http://[2002:a00:1::1]/", "https://evil@127.0.0.1:8443/",
])
def test_internal_addresses_are_refused(url):
    with pytest.raises(FetchError, match="internal address"):
        fetch(url, timeout=2)


@pytest.mark.parametrize("address, internal", [
    ("8.8.8.8", False), ("2001:4860:4860::8888", False), ("::ffff:8.8.8.8", False), ("64:ff9b::808:808", False),
    ("127.0.0.1", True), ("10.1.2.3", True), ("169.254.1.1", True), ("fe80::1", True), ("::1", True),
    ("::ffff:10.0.0.1", True), ("192.0.2.1", True), ("198.18.0.1", True), ("ff05::2", True),
])
def test_what_counts_as_internal(address, internal):
    assert is_internal(address) is internal


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://ftp.example.com/feed.xml", "gopher://example.com/", "javascript:alert(1)",
    "data:text/html,hello", "//example.com/feed.xml", "example.com/feed.xml", "",
])
def test_only_http_and_https_are_fetched(url):
    with pytest.raises(FetchError, match="Only http:// and https://"):
        fetch(url, allow_private=True)


def test_incomplete_or_invalid_addresses_are_refused():
    with pytest.raises(FetchError, match="not a complete web address"):
        fetch("http:///feed.xml")
    with pytest.raises(FetchError, match="not a valid web address"):
        fetch("http://example.com:99999/")


def test_redirects_are_followed_and_each_hop_checked_again(server):
    target = server.serve("/news.rss", "news.rss")
    response = fetch(server.url("/redirect?to=/news.rss"), allow_private=True)
    assert response.url == target and b"Northwind" in response.body
    # The next hop is checked like the first: scheme and allowed hosts.
    with pytest.raises(FetchError, match="Only http:// and https://"):
        fetch(server.url("/redirect?to=file:///etc/passwd"), allow_private=True)
    with pytest.raises(FetchError, match="localhost is not one of the hosts"):
        fetch(server.url("/redirect?to=" + server.url("/news.rss", host="localhost")),
              allow_private=True, allowed_hosts=["127.0.0.1"])


def test_a_redirect_loop_stops_after_five_redirects(server):
    with pytest.raises(FetchError, match=r"Too many redirects \(more than 5\)"):
        fetch(server.url("/loop"), allow_private=True)
    assert len(server.requests_for("/loop")) == 6


def test_allowed_hosts_setting(server, make_app):
    url = server.serve("/news.rss", "news.rss")
    with make_app(FETCH_ALLOW_PRIVATE=True, FETCH_ALLOWED_HOSTS="careers.example.com, example.org").app_context():
        with pytest.raises(FetchError, match="127.0.0.1 is not one of the hosts"):
            fetch(url)
    with make_app(FETCH_ALLOW_PRIVATE=True, FETCH_ALLOWED_HOSTS="127.0.0.1").app_context():
        assert fetch(url).status == 200


@pytest.mark.parametrize("path", ["/huge", "/huge-declared"])
def test_an_oversize_body_is_refused(server, path):
    with pytest.raises(FetchError, match="larger than the limit of 0.1 MB"):
        fetch(server.url(path), allow_private=True, max_bytes=100_000)


def test_a_compressed_bomb_is_stopped_at_the_limit(server):
    with pytest.raises(FetchError, match="larger than the limit"):
        fetch(server.url("/gzip-bomb"), allow_private=True, max_bytes=1_000_000)


@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_a_slow_server_runs_into_the_total_timeout(server, path):
    with pytest.raises(FetchError, match=r"did not answer within 1 second\."):
        fetch(server.url(path), allow_private=True, timeout=1)


def test_connection_refused_and_unknown_names_are_clear_errors():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="refused the connection"):
        fetch(f"http://127.0.0.1:{port}/", allow_private=True)
    with pytest.raises(FetchError, match="no-such-host.invalid"):
        fetch("http://no-such-host.invalid/feed.xml", timeout=3)


def test_conditional_headers_are_sent_and_a_304_returned(server):
    url = server.serve("/news.rss", "news.rss")
    first = fetch(url, allow_private=True)
    second = fetch(url, allow_private=True, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status == 304 and second.body == b""
    assert server.requests_for("/news.rss")[1]["If-None-Match"] == first.headers["ETag"]


def test_connects_to_the_checked_address_with_the_hostname_as_host_header(server):
    # localhost may resolve to ::1 first, where nothing listens: the fetcher
    # tries the next checked address.
    response = fetch(server.url("/echo-host", host="localhost"), allow_private=True)
    assert response.body == f"localhost:{server.port}".encode()


@pytest.fixture
def certificate(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    return str(cert), str(key)


def test_https_sends_the_hostname_as_sni_and_verifies_the_certificate(certificate, make_app):
    with FeedServer(tls=certificate) as tls_server:
        url = tls_server.url("/echo-host", host="localhost")
        with make_app(FETCH_ALLOW_PRIVATE=True, FETCH_CA_FILE=certificate[0]).app_context():
            response = fetch(url)
        assert response.body == f"localhost:{tls_server.port}".encode()
        assert tls_server.sni == ["localhost"]
        # Without the company's CA the self-signed certificate is refused.
        with make_app(FETCH_ALLOW_PRIVATE=True).app_context(), pytest.raises(FetchError, match="certificate"):
            fetch(url)


@pytest.mark.parametrize("content_type, body, encoding", [
    ("text/html; charset=ISO-8859-1", b"<p>caf\xe9</p>", "iso8859-1"),
    ("application/xml", b'<?xml version="1.0" encoding="windows-1252"?><rss/>', "cp1252"),
    ("text/html", b'<html><head><meta charset="utf-8">', "utf-8"),
    ("text/html; charset=nonsense", b"<p>x</p>", "utf-8"),
    ("application/octet-stream", b"\xef\xbb\xbfhello", "utf-8"),
])
def test_encoding_guess(content_type, body, encoding):
    assert guess_encoding(content_type, body) == encoding
