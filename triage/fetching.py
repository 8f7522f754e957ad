"""Fetching a log from a URL someone else gave us (KCIDB's log_url), without letting that URL reach
what only the server can: the metadata service at 169.254.169.254, the database, a router's admin page.

Every connection, redirects included, goes to an address checked first: a global (public) address, or
one of the networks an admin allows (TRIAGE_FETCH_ALLOWED_NETWORKS, for a lab's internal log server).
The check and the connection use the same resolved address, so a name that resolves to a public
address when checked and to 127.0.0.1 when connected (DNS rebinding) cannot slip through. Proxies from
the environment are not used: the proxy, not us, would pick the address.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator, Sequence

from django.conf import settings

from triage.ingest import RejectedUpload

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks() -> list[Network]:
    return [ipaddress.ip_network(n.strip(), strict=False) for n in settings.TRIAGE_FETCH_ALLOWED_NETWORKS if n.strip()]


def check_address(ip: str, allowed: Sequence[Network]) -> None:
    """Refuse an address that is not global, unless an allowed network holds it."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return
    if not address.is_global or address.is_multicast:
        raise RejectedUpload(f"log URLs may not point at {address} (a private, loopback or reserved address); "
                             "an admin can allow its network with TRIAGE_FETCH_ALLOWED_NETWORKS")


def connect_checked(host: str, port: int, timeout: float | None) -> socket.socket:
    """A socket connected to the first checked address of `host`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RejectedUpload(f"cannot resolve {host}: {exc.strerror}") from None
    allowed = allowed_networks()
    for *_, address in infos:
        check_address(address[0], allowed)
    error: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"no address for {host}")


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = connect_checked(self.host, self.port, self.timeout)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        sock = connect_checked(self.host, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_CheckedHTTPConnection, req)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_CheckedHTTPSConnection, req, context=self._context)


def _opener() -> urllib.request.OpenerDirector:
    # build_opener puts these in place of the default HTTP(S) handlers; redirects reopen through them
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _CheckedHTTPHandler(), _CheckedHTTPSHandler())


def fetch(url: str, limit: int, timeout: float) -> Iterator[bytes]:
    """The bytes at an http(s) URL, gunzipped when they are gzip, refused past `limit` bytes or
    `timeout` seconds (for the whole transfer: a server trickling bytes cannot hold a worker), and
    refused when it or a redirect points at an address that is not public (see the module's doc)."""
    if not url.lower().startswith(("http://", "https://")):
        raise RejectedUpload(f"only http(s) log URLs are fetched, not {url[:80]!r}")
    try:
        response = _opener().open(urllib.request.Request(url, headers={"User-Agent": "triage"}), timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise RejectedUpload(f"fetching {url} answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:  # a refused address is a RejectedUpload: not caught here
        raise RejectedUpload(f"cannot fetch {url}: {exc.reason}") from None
    except OSError as exc:
        raise RejectedUpload(f"cannot fetch {url}: {exc}") from None
    with response:
        yield from _read_capped(response, url, limit, timeout)


def _read_capped(response, url: str, limit: int, timeout: float) -> Iterator[bytes]:
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > limit and not url.endswith(".gz"):
        raise RejectedUpload(f"{url} is larger than the limit of {limit // (1024 * 1024)} MiB")
    inflate, got, deadline = None, 0, time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            raise RejectedUpload(f"fetching {url} took more than {timeout:g} s")
        try:
            block = response.read(256 * 1024)
        except (TimeoutError, OSError) as exc:
            raise RejectedUpload(f"fetching {url} timed out or failed: {exc}") from None
        if not block:
            break
        if got == 0 and inflate is None and block[:2] == b"\x1f\x8b":
            inflate = zlib.decompressobj(wbits=47)
        if inflate is not None:
            block = inflate.decompress(block, limit + 1 - got)
        got += len(block)
        if got > limit:
            raise RejectedUpload(f"{url} is larger than the limit of {limit // (1024 * 1024)} MiB")
        yield block
