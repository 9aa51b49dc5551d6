"""Fetch a web page or feed safely: http(s) only, public addresses only (unless allowed), a timeout, a size limit,
our user agent, at most a few redirects. Every refusal is a FetchError whose message is the reason.

The address check runs when the socket connects, on the address actually connected to, so a redirect to a private
host or a name that resolves to one (DNS rebinding included) is refused as well as a literal private URL.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import partial
from typing import Any

from index.settings import Settings

USER_AGENT = "newsqa/0.1 (news ingest for question answering)"
MAX_REDIRECTS = 5           # news sites chain http -> https -> www -> canonical; more is a loop or a trap
SCHEMES = ("http", "https")
READ_BLOCK = 1 << 16


class FetchError(ValueError):
    """A URL that could not or may not be fetched; the message is the reason, for the ingest report."""


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may do: its limits and whether private or loopback addresses are allowed."""

    timeout_s: float = 20.0
    max_bytes: int = 25_000_000
    allow_private: bool = False
    user_agent: str = USER_AGENT

    @classmethod
    def from_settings(cls, settings: Settings) -> "FetchPolicy":
        return cls(timeout_s=settings.fetch_timeout_s, max_bytes=int(settings.max_file_mb * 1e6),
                   allow_private=settings.allow_private_urls)


@dataclass(frozen=True)
class Fetched:
    """A response: the final url (after redirects), its body, and the validators for the next conditional GET."""

    url: str
    body: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False  # 304: nothing changed since the validators we sent


def check_url(url: str) -> None:
    """Refuse anything but an absolute http(s) URL with a host."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise FetchError(f"refused scheme '{parts.scheme or '(none)'}:' (only http and https are fetched)")
    if not parts.hostname:
        raise FetchError("URL has no host")


def public_address(address: str) -> bool:
    """True for an address on the public internet; False for private, loopback, link-local, reserved, multicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _guarded_connection(address: tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,
                        source_address: Any = None, *, allow_private: bool) -> socket.socket:
    """socket.create_connection that connects only to allowed addresses of the host."""
    host, port = address
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host {host!r} ({exc.strerror})") from None
    allowed = [info for info in infos if allow_private or public_address(info[4][0])]
    if not allowed:
        raise FetchError(f"refused: {host} is a private or loopback address ({infos[0][4][0]}); set "
                         "NEWSQA_ALLOW_PRIVATE_URLS=true to fetch from it")
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in allowed:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"cannot connect to {host}")


class _GuardedHTTP(http.client.HTTPConnection):
    def __init__(self, *args: Any, allow_private: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = partial(_guarded_connection, allow_private=allow_private)


class _GuardedHTTPS(http.client.HTTPSConnection):
    def __init__(self, *args: Any, allow_private: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = partial(_guarded_connection, allow_private=allow_private)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private

    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(partial(_GuardedHTTP, allow_private=self.allow_private), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private

    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(partial(_GuardedHTTPS, allow_private=self.allow_private), req,
                            context=self._context)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS
    max_repeats = 2

    def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> Any:
        location = headers.get("Location") or headers.get("URI")
        if location:  # before urllib's own check, so a refused scheme is reported as such
            check_url(urllib.parse.urljoin(req.full_url, location))
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def make_opener(policy: FetchPolicy) -> urllib.request.OpenerDirector:
    """An opener that ignores proxy variables (a proxy would hide where we really connect) and guards every hop."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _HTTPHandler(policy.allow_private),
                                       _HTTPSHandler(policy.allow_private), _RedirectHandler())


def fetch(url: str, policy: FetchPolicy, *, etag: str = "", last_modified: str = "") -> Fetched:
    """GET url within the policy; with etag/last_modified a conditional GET (a 304 comes back as not_modified)."""
    check_url(url)
    headers = {"User-Agent": policy.user_agent, "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,"
               "application/rss+xml,application/atom+xml,*/*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + policy.timeout_s
    try:
        with make_opener(policy).open(urllib.request.Request(url, headers=headers), timeout=policy.timeout_s) as resp:
            body = _read_limited(resp, policy.max_bytes, deadline)
            return Fetched(url=resp.geturl(), body=body, content_type=resp.headers.get("Content-Type", ""),
                           etag=resp.headers.get("ETag", ""), last_modified=resp.headers.get("Last-Modified", ""))
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(url=url, etag=etag, last_modified=last_modified, not_modified=True)
        if exc.code in (301, 302, 303, 307, 308):
            raise FetchError(f"more than {MAX_REDIRECTS} redirects (or a redirect loop)") from None
        raise FetchError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, FetchError):
            raise reason from None
        if isinstance(reason, TimeoutError):
            raise FetchError(f"timed out after {policy.timeout_s:g} s (NEWSQA_FETCH_TIMEOUT_S)") from None
        raise FetchError(f"cannot fetch: {getattr(reason, 'strerror', None) or reason}") from None
    except (TimeoutError, socket.timeout):
        raise FetchError(f"timed out after {policy.timeout_s:g} s (NEWSQA_FETCH_TIMEOUT_S)") from None
    except (http.client.HTTPException, OSError) as exc:
        raise FetchError(f"cannot fetch: {exc or type(exc).__name__}") from None


def _read_limited(resp: Any, max_bytes: int, deadline: float) -> bytes:
    """The body, refused as soon as it is over max_bytes (announced or read) or the deadline has passed."""
    announced = resp.headers.get("Content-Length")
    if announced and announced.isdigit() and int(announced) > max_bytes:
        raise FetchError(f"page is {int(announced) / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit "
                         "(NEWSQA_MAX_FILE_MB)")
    parts: list[bytes] = []
    size = 0
    while block := resp.read(READ_BLOCK):
        size += len(block)
        if size > max_bytes:
            raise FetchError(f"page is over the {max_bytes / 1e6:g} MB limit (NEWSQA_MAX_FILE_MB)")
        if time.monotonic() > deadline:
            raise TimeoutError
        parts.append(block)
    return b"".join(parts)
