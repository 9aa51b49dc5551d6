"""Fetching is safe: http(s) only, no private or loopback addresses unless allowed, a timeout, a size limit, our
user agent, at most a few redirects. Against a real HTTP server on 127.0.0.1 that each test starts."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from index.fetch import MAX_REDIRECTS, USER_AGENT, FetchError, FetchPolicy, fetch, public_address
from index.web import load_url

WEB = Path(__file__).resolve().parent / "fixtures" / "web"
LOCAL = FetchPolicy(timeout_s=5, max_bytes=1_000_000, allow_private=True)
HTML = {"Content-Type": "text/html; charset=utf-8"}


def test_a_loopback_url_is_refused_by_default(local_site):
    local_site.routes["/a"] = (200, HTML, b"<html><body>secret</body></html>")
    with pytest.raises(FetchError, match="private or loopback address.*NEWSQA_ALLOW_PRIVATE_URLS"):
        fetch(local_site.url + "/a", FetchPolicy())
    assert local_site.requests == []  # refused before connecting


def test_an_allowed_fetch_sends_our_user_agent_and_returns_the_body(local_site):
    local_site.routes["/a"] = (200, {**HTML, "ETag": '"v1"'}, b"<html><body>hello</body></html>")
    got = fetch(local_site.url + "/a", LOCAL)
    assert got.body == b"<html><body>hello</body></html>" and got.etag == '"v1"' and not got.not_modified
    assert local_site.requests[0][1]["User-Agent"] == USER_AGENT


@pytest.mark.parametrize("url, reason", [
    ("file:///etc/passwd", "refused scheme 'file:'"),
    ("ftp://example.org/x", "refused scheme 'ftp:'"),
    ("javascript:alert(1)", "refused scheme 'javascript:'"),
    ("//example.org/x", "refused scheme '(none):'"),
    ("http:///nohost", "URL has no host"),
])
def test_only_http_and_https_are_fetched(url, reason):
    with pytest.raises(FetchError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        fetch(url, LOCAL)


@pytest.mark.parametrize("address, public", [
    ("93.184.216.34", True), ("8.8.8.8", True), ("2606:4700::1111", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.0.1", False), ("172.16.5.4", False),
    ("169.254.169.254", False), ("0.0.0.0", False), ("::1", False), ("fc00::1", False), ("fe80::1%eth0", False),
    ("::ffff:127.0.0.1", False), ("224.0.0.1", False), ("100.64.0.1", False),
])
def test_public_address(address, public):
    assert public_address(address) is public


def test_a_few_redirects_are_followed_but_not_more(local_site):
    for i in range(MAX_REDIRECTS + 2):
        local_site.routes[f"/r{i}"] = (302, {"Location": f"/r{i + 1}"}, b"")
    local_site.routes[f"/r{MAX_REDIRECTS + 2}"] = (200, HTML, b"<html>end</html>")
    assert fetch(local_site.url + "/r2", LOCAL).url == local_site.url + f"/r{MAX_REDIRECTS + 2}"
    with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
        fetch(local_site.url + "/r0", LOCAL)


def test_a_redirect_to_another_scheme_is_refused(local_site):
    local_site.routes["/to-file"] = (302, {"Location": "file:///etc/passwd"}, b"")
    with pytest.raises(FetchError, match="refused scheme 'file:'"):
        fetch(local_site.url + "/to-file", LOCAL)


def test_a_host_name_that_resolves_to_loopback_is_refused():
    """The check runs on the resolved address when the socket connects (so on every redirect hop too)."""
    with pytest.raises(FetchError, match="private or loopback"):
        fetch("http://localhost:1/", FetchPolicy(timeout_s=2))


def _endless(announce: int | None):
    def write(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        if announce:
            handler.send_header("Content-Length", str(announce))
        handler.end_headers()
        try:
            handler.wfile.write(b"<html><body>")
            for _ in range(60):  # 60 MB at most, in 1 MB blocks, until the client hangs up
                handler.wfile.write(b"x" * (1 << 20))
        except (BrokenPipeError, ConnectionResetError):
            pass
    return write


@pytest.mark.parametrize("announce", [50_000_000, None])
def test_a_50_mb_page_is_refused_at_the_limit(local_site, announce):
    local_site.routes["/big"] = (200, {}, _endless(announce))
    started = time.perf_counter()
    with pytest.raises(FetchError, match="over the 25 MB limit"):
        fetch(local_site.url + "/big", FetchPolicy(timeout_s=20, max_bytes=25_000_000, allow_private=True))
    assert time.perf_counter() - started < 10


def test_a_slow_server_times_out(local_site):
    def slow(handler):
        time.sleep(3)
    local_site.routes["/slow"] = (200, {}, slow)
    started = time.perf_counter()
    with pytest.raises(FetchError, match="timed out after 0.5 s"):
        fetch(local_site.url + "/slow", FetchPolicy(timeout_s=0.5, allow_private=True))
    assert time.perf_counter() - started < 2.5


def test_http_errors_and_unreachable_hosts_give_reasons(local_site):
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(local_site.url + "/missing", LOCAL)
    with pytest.raises(FetchError, match="cannot fetch"):
        fetch("http://127.0.0.1:1/", LOCAL)


def test_a_url_becomes_a_dated_article_and_bad_urls_become_rejections(local_site):
    local_site.routes["/bridge"] = (200, HTML, (WEB / "harbour-bridge.html").read_bytes())
    local_site.routes["/scan.pdf"] = (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7")
    [article], [] = load_url(local_site.url + "/bridge", LOCAL)
    assert article.date.isoformat() == "2023-05-01" and article.source == local_site.url + "/bridge"
    assert article.url == local_site.url + "/bridge"
    assert load_url(local_site.url + "/scan.pdf", LOCAL)[1][0].reason == "not an HTML page (content type application/pdf)"
    assert "private or loopback" in load_url(local_site.url + "/bridge", FetchPolicy())[1][0].reason
