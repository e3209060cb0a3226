"""Checking the URLs a target is given: http(s), a host, and on this machine unless allowed.

The network rule: load and chaos traffic go to 127.0.0.1 only. A URL whose host is not a
loopback address (``127.0.0.0/8``, ``::1``) or ``localhost`` is refused with an InputError
naming the option, unless the caller explicitly allows other hosts.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from stampede.errors import InputError

LOCAL_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1)."""
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_url(url: str, option: str, allow_remote: bool = False) -> str:
    """``url`` without a trailing slash; InputError naming ``option`` if it is unusable.

    Unusable: not http(s), no host, or (unless ``allow_remote``) a host not on this machine.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{option} {url!r}: expected an http(s) URL such as http://127.0.0.1:8000")
    if not allow_remote and not is_loopback(parts.hostname):
        raise InputError(
            f"{option} {url!r}: host {parts.hostname!r} is not this machine; load and chaos "
            "traffic go to 127.0.0.1/localhost only"
        )
    return url.strip().rstrip("/")
