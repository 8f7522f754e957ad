"""A small HTTP client for triage's REST API, for CI bots: the standard library only (no Django, no
requests), so `triage upload` runs from any CI image with Python.

Where the server and token come from, first found wins: flags, the environment (TRIAGE_URL,
TRIAGE_TOKEN), a config file (TRIAGE_CONFIG, else ~/.config/triage/client.ini):

    [server]
    url = https://triage.example.org
    token = 0123abcd...
"""

from __future__ import annotations

import configparser
import json
import mimetypes
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1024 * 1024
DEFAULT_CONFIG = Path("~/.config/triage/client.ini")


class ClientError(Exception):
    """The server refused the request (4xx): retrying will not help. The message is the server's reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ServerUnavailable(Exception):
    """Connection errors or 5xx answers until the retries ran out."""


@dataclass
class Server:
    url: str
    token: str


def server_from(url: str | None, token: str | None, config: str | None) -> Server:
    """Flags, then environment, then the config file."""
    path = Path(config or os.environ.get("TRIAGE_CONFIG") or DEFAULT_CONFIG).expanduser()
    parser = configparser.ConfigParser()
    if path.is_file():
        parser.read(path)
    url = url or os.environ.get("TRIAGE_URL") or parser.get("server", "url", fallback="")
    token = token or os.environ.get("TRIAGE_TOKEN") or parser.get("server", "token", fallback="")
    if not url:
        raise ClientError(0, f"no server: give --server, set TRIAGE_URL or write url= in {path}")
    return Server(url.rstrip("/"), token)


# --- multipart bodies, streamed from disk (a vmlinux can be gigabytes) ------------------------------


def multipart(fields: dict[str, str], files: list[tuple[str, Path]]) -> tuple[str, int, Callable[[], Iterator[bytes]]]:
    """(content type, length, a function giving the body's chunks anew for each attempt)."""
    boundary = f"triage-{uuid.uuid4().hex}"
    parts: list[bytes | Path] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, path in files:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{path.name}"\r\n'
                     f"Content-Type: {kind}\r\n\r\n".encode())
        parts.append(path)
        parts.append(b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    length = sum(p.stat().st_size if isinstance(p, Path) else len(p) for p in parts)

    def chunks() -> Iterator[bytes]:
        for part in parts:
            if isinstance(part, Path):
                with open(part, "rb") as f:
                    while block := f.read(CHUNK):
                        yield block
            else:
                yield part

    return f"multipart/form-data; boundary={boundary}", length, chunks


# --- requests with retries ------------------------------------------------------------------------


def reason(status: int, body: bytes) -> str:
    """The server's one-sentence reason from the API's error shape, else the start of its answer."""
    try:
        data = json.loads(body)
    except ValueError:
        return f"HTTP {status}: {body[:300].decode('utf-8', 'replace').strip()}"
    if isinstance(data, dict) and data.get("error"):
        fields = data.get("fields") or {}
        extra = "".join(f"\n  {k}: {'; '.join(v)}" for k, v in fields.items() if isinstance(v, list))
        return f"HTTP {status}: {data['error']}{extra}"
    return f"HTTP {status}: {str(data)[:300]}"


def request(server: Server, method: str, path: str, *, body: Callable[[], Iterator[bytes]] | bytes | None = None,
            content_type: str = "", length: int | None = None, retries: int = 5, backoff: float = 1.0,
            timeout: float = 300, log=sys.stderr) -> tuple[int, bytes]:
    """Send, retrying on connection errors, 5xx and 429 with exponential backoff; (status, body).
    Raises ClientError on another 4xx (with the server's reason), ServerUnavailable when out of tries."""
    url = path if path.startswith("http") else server.url + path
    last = ""
    for attempt in range(retries + 1):
        data = body() if callable(body) else body
        req = urllib.request.Request(url, data=data, method=method)
        if server.token:
            req.add_header("Authorization", f"Token {server.token}")
        req.add_header("Accept", "application/json")
        if content_type:
            req.add_header("Content-Type", content_type)
        if length is not None:
            req.add_header("Content-Length", str(length))
        wait = backoff * 2 ** attempt
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 (the user's server)
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            answer = exc.read()
            if exc.code == 429:
                wait = max(wait, float(exc.headers.get("Retry-After") or 0))
            elif exc.code < 500:
                raise ClientError(exc.code, reason(exc.code, answer)) from None
            last = reason(exc.code, answer)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = f"cannot reach {server.url}: {getattr(exc, 'reason', exc)}"
        if attempt < retries:
            print(f"triage: {last}; retrying in {wait:.1f} s ({attempt + 1}/{retries})", file=log)
            time.sleep(wait)
    raise ServerUnavailable(f"{last} (gave up after {retries + 1} attempts)")


def get_json(server: Server, path: str, **kwargs):
    _status, body = request(server, "GET", path, **kwargs)
    return json.loads(body)
