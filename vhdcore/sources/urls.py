"""Image URLs without the network: which ones this tool fetches (https, or http to this machine), and how a URL
is shown in messages (never with its user, password or query string). Standard library only, so that a local
image never loads the HTTP client."""

from __future__ import annotations

import ipaddress
import urllib.parse

from ..errors import InputError


def is_image_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


def shown_url(url: str) -> str:
    """The URL without its user, password, query string and fragment: what messages may print."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<a URL that cannot be parsed>"
    hidden = "?<query hidden>" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{hidden}"


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_image_url(url: str, *, field: str = "source") -> str:
    """The URL if this tool may fetch it (https, or http to this machine), else InputError naming `field`."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError as exc:
        raise InputError(f"{field} {shown_url(url)} is not a valid URL ({exc}); give an https:// URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InputError(f"{field} {shown_url(url)} is not an http(s) URL with a host; give an https:// URL.")
    if parts.scheme.lower() == "http" and not _loopback(host):
        raise InputError(f"{field} {shown_url(url)} is plain http to another machine, where anyone on the way can "
                         "change the image; give its https:// URL (plain http is taken only from this machine).")
    return url


__all__ = ["check_image_url", "is_image_url", "shown_url"]
