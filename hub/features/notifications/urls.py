"""Which webhook URLs the hub agrees to call (server-side request forgery guard).

A portal chooses where the hub sends HTTP requests, so the URL must not point the hub
at itself or its neighbours: the database, the Kafka broker, the cloud metadata
service at 169.254.169.254, an admin port on localhost. A URL is accepted when:

- its scheme is ``http`` or ``https`` and it carries no ``user:password@``;
- its host resolves, and **every** address it resolves to is public: none is
  private, loopback, link-local, multicast, reserved, unspecified or otherwise not
  globally routable (IPv4-mapped and 6to4 IPv6 addresses are judged by the IPv4
  address inside them).

``allow_private=True`` (``settings.webhooks.allow_private_targets``, for development
only) skips the address rule but still requires a resolvable http(s) URL;
``https_only=True`` (production's default) refuses plain http. A refusal says "not a
public address" and never which address the name resolved to.

Checking once at registration is not enough: a hostname can later resolve somewhere
else (DNS rebinding). The dispatcher therefore re-checks at every delivery and then
connects to the address it checked (``pinned``), so there is no second lookup that
could answer differently.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class UrlProblem:
    code: str
    message: str


class UrlRejected(ValueError):
    """The URL may not be used; ``problems`` says every reason found."""

    def __init__(self, problems: list[UrlProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class CheckedUrl:
    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


async def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, as the operating system resolves them (in a thread)."""
    infos = await asyncio.to_thread(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_refusal(address: IPAddress) -> str | None:
    """Why the hub must not connect to ``address`` (e.g. ``"a private address"``), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            reason = address_refusal(embedded)
            return f"{reason} (embedded IPv4 {embedded})" if reason else None
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a globally routable address"
    return None


def _syntax(url: str) -> tuple[str, str, int]:
    problems: list[UrlProblem] = []
    if len(url) > MAX_URL_LENGTH:
        raise UrlRejected([UrlProblem("url_too_long", f"the URL is longer than {MAX_URL_LENGTH} characters")])
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise UrlRejected([UrlProblem("url_invalid", "the URL contains whitespace or control characters")])
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRejected([UrlProblem("url_invalid", f"the URL cannot be parsed: {exc}")]) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        problems.append(UrlProblem("url_scheme", f"the scheme must be http or https, not {parts.scheme or 'missing'!r}"))
    if parts.username is not None or parts.password is not None:
        problems.append(
            UrlProblem(
                "url_credentials",
                "credentials (user:password@) are not allowed in the URL; deliveries are authenticated by their signature",
            )
        )
    if parts.fragment:
        problems.append(UrlProblem("url_fragment", "a fragment (#...) is never sent to the server; remove it"))
    host = parts.hostname or ""
    if not host:
        problems.append(UrlProblem("url_host_missing", "the URL has no host"))
    else:
        try:
            host.encode("idna")
        except UnicodeError:
            problems.append(UrlProblem("url_host_invalid", f"the host {host!r} is not a valid domain name"))
    if problems:
        raise UrlRejected(problems)
    return scheme, host, port or (443 if scheme == "https" else 80)


async def check_webhook_url(url: str, *, allow_private: bool = False, https_only: bool = False, resolver: Resolver = resolve) -> CheckedUrl:
    """Validate ``url`` and resolve its host; raises :class:`UrlRejected` with every reason.

    ``https_only`` (production): personal data never travels to a portal unencrypted."""
    scheme, host, port = _syntax(url)
    if https_only and scheme != "https":
        raise UrlRejected([UrlProblem("url_scheme", "the scheme must be https (this hub runs in production mode)")])
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            resolved = await resolver(host, port)
        except (OSError, UnicodeError) as exc:
            detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise UrlRejected([UrlProblem("url_host_unresolvable", f"the host {host!r} does not resolve ({detail})")]) from None
        addresses = []
        for text in resolved:
            try:
                addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
            except ValueError:
                continue
        if not addresses:
            raise UrlRejected([UrlProblem("url_host_unresolvable", f"the host {host!r} resolves to no IP address")])
    if not allow_private:
        refused = [address for address in addresses if address_refusal(address) is not None]
        if refused and literal is not None:
            reason = address_refusal(literal)
            raise UrlRejected([UrlProblem("url_address_not_public", f"{literal} is {reason}; webhooks must target a public address")])
        if refused:
            # Never say where the name resolves: that would map the hub's network for the caller.
            raise UrlRejected(
                [UrlProblem("url_address_not_public", f"the host {host!r} is not a public address; webhooks must target one")]
            )
    return CheckedUrl(url=url, scheme=scheme, host=host, port=port, addresses=tuple(addresses))


@dataclass(frozen=True)
class PinnedRequest:
    url: str
    headers: dict[str, str]
    extensions: dict[str, str]


def pinned(checked: CheckedUrl, address: IPAddress) -> PinnedRequest:
    """The request to send to ``address`` while keeping the URL's own host name for the
    ``Host`` header and, on https, for SNI and certificate verification."""
    original = httpx.URL(checked.url)
    target = original.copy_with(host=str(address))
    headers = {"Host": original.netloc.decode("ascii")}
    extensions = {"sni_hostname": checked.host} if checked.scheme == "https" else {}
    return PinnedRequest(url=str(target), headers=headers, extensions=extensions)
