"""Webhook targets: only public http(s) endpoints, unless development allows private ones."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from hub.features.notifications import urls
from hub.features.notifications.urls import UrlRejected, address_refusal, check_webhook_url, pinned


async def _codes(url: str, **kwargs: Any) -> list[str]:
    with pytest.raises(UrlRejected) as excinfo:
        await check_webhook_url(url, **kwargs)
    assert str(excinfo.value)  # a readable reason
    return [p.code for p in excinfo.value.problems]


def _fake_dns(table: dict[str, list[str]]) -> Any:
    async def resolver(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolver


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://127.8.9.10:8080/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://172.16.0.1/hook", "private"),
        ("https://192.168.1.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::1]:9000/hook", "loopback"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[fc00::1]/hook", "private"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://[::ffff:10.0.0.1]/hook", "private"),
        ("http://[2002:7f00:1::]/hook", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://[::]/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://[ff02::1]/hook", "multicast"),
        ("http://240.0.0.1/hook", "reserved"),
        ("http://100.64.0.1/hook", "not a globally routable"),
    ],
)
async def test_non_public_literal_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UrlRejected) as excinfo:
        await check_webhook_url(url)
    [problem] = excinfo.value.problems
    assert problem.code == "url_address_not_public"
    assert reason in problem.message


async def test_a_public_literal_address_is_accepted_without_dns() -> None:
    async def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError("a literal address needs no lookup")

    checked = await check_webhook_url("https://93.184.216.34:8443/hooks/mpp?x=1", resolver=no_dns)
    assert checked.port == 8443 and checked.scheme == "https"
    assert checked.addresses == (ipaddress.ip_address("93.184.216.34"),)


async def test_a_hostname_resolving_to_a_private_address_is_refused() -> None:
    resolver = _fake_dns({"hooks.portal.example": ["10.0.0.7"]})
    with pytest.raises(UrlRejected) as excinfo:
        await check_webhook_url("https://hooks.portal.example/mpp", resolver=resolver)
    [problem] = excinfo.value.problems
    assert problem.code == "url_address_not_public"
    assert problem.message == "the host 'hooks.portal.example' is not a public address; webhooks must target one"
    assert "10.0.0.7" not in problem.message  # the resolved address would map the hub's network for the caller


async def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    resolver = _fake_dns({"mixed.example": ["93.184.216.34", "2606:4700::1111", "127.0.0.1"]})
    with pytest.raises(UrlRejected) as excinfo:
        await check_webhook_url("https://mixed.example/", resolver=resolver)
    assert [p.message for p in excinfo.value.problems] == ["the host 'mixed.example' is not a public address; webhooks must target one"]


async def test_a_public_hostname_is_accepted() -> None:
    resolver = _fake_dns({"hooks.portal.example": ["93.184.216.34", "2606:4700::1111"]})
    checked = await check_webhook_url("https://hooks.portal.example/mpp", resolver=resolver)
    assert [str(a) for a in checked.addresses] == ["93.184.216.34", "2606:4700::1111"]


async def test_localhost_really_resolves_and_is_refused() -> None:
    """The default resolver: socket.getaddrinfo in a thread."""
    with pytest.raises(UrlRejected) as excinfo:
        await check_webhook_url("http://localhost:8000/hook")
    assert {p.code for p in excinfo.value.problems} == {"url_address_not_public"}
    assert [p.message for p in excinfo.value.problems] == ["the host 'localhost' is not a public address; webhooks must target one"]


async def test_the_default_resolver_uses_getaddrinfo(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo
    asked: list[tuple[str, int]] = []

    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host == "intranet.example":
            asked.append((host, port))
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.10.20", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(urls.socket, "getaddrinfo", fake)
    codes = await _codes("https://intranet.example/hook")
    assert codes == ["url_address_not_public"] and asked == [("intranet.example", 443)]


async def test_an_unresolvable_host_is_refused() -> None:
    assert await _codes("https://nowhere.example/hook", resolver=_fake_dns({})) == ["url_host_unresolvable"]


@pytest.mark.parametrize(
    ("url", "codes"),
    [
        ("ftp://93.184.216.34/hook", ["url_scheme"]),
        ("file:///etc/passwd", ["url_scheme", "url_host_missing"]),
        ("93.184.216.34/hook", ["url_scheme", "url_host_missing"]),
        ("https://user:pass@93.184.216.34/hook", ["url_credentials"]),
        ("https://token@93.184.216.34/hook", ["url_credentials"]),
        ("https://93.184.216.34/hook#frag", ["url_fragment"]),
        ("https:///hook", ["url_host_missing"]),
        ("https://93.184.216.34:99999/hook", ["url_invalid"]),
        ("https://93.184.216.34/ho ok", ["url_invalid"]),
        ("https://93.184.216.34/" + "a" * 2000, ["url_too_long"]),
    ],
)
async def test_malformed_urls_are_refused_with_every_reason(url: str, codes: list[str]) -> None:
    assert await _codes(url) == codes


@pytest.mark.parametrize("url", ["http://127.0.0.1:9999/hook", "http://[::1]/hook", "http://10.0.0.5/hook", "http://localhost/hook"])
async def test_private_targets_are_allowed_when_configured(url: str) -> None:
    checked = await check_webhook_url(url, allow_private=True)
    assert checked.addresses


async def test_allowing_private_targets_still_requires_a_sane_url() -> None:
    assert await _codes("ftp://127.0.0.1/x", allow_private=True) == ["url_scheme"]
    assert await _codes("http://u:p@127.0.0.1/x", allow_private=True) == ["url_credentials"]


def test_public_addresses_have_no_refusal() -> None:
    for text in ("8.8.8.8", "93.184.216.34", "2606:4700::1111", "2002:5db8:d822::"):  # last: 6to4 of a public IPv4
        assert address_refusal(ipaddress.ip_address(text)) is None


async def test_pinned_requests_connect_to_the_checked_address_but_keep_the_host_name() -> None:
    resolver = _fake_dns({"hooks.portal.example": ["93.184.216.34", "2606:4700::1111"]})
    checked = await check_webhook_url("https://hooks.portal.example:8443/mpp?a=1", resolver=resolver)
    v4 = pinned(checked, checked.addresses[0])
    assert v4.url == "https://93.184.216.34:8443/mpp?a=1"
    assert v4.headers == {"Host": "hooks.portal.example:8443"}
    assert v4.extensions == {"sni_hostname": "hooks.portal.example"}
    v6 = pinned(checked, checked.addresses[1])
    assert v6.url == "https://[2606:4700::1111]:8443/mpp?a=1"
    plain = pinned(await check_webhook_url("http://hooks.portal.example/x", resolver=resolver), ipaddress.ip_address("93.184.216.34"))
    assert plain.url == "http://93.184.216.34/x" and plain.headers == {"Host": "hooks.portal.example"} and plain.extensions == {}


async def test_https_only_refuses_plain_http_before_any_lookup() -> None:
    async def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError("a refused scheme needs no lookup")

    with pytest.raises(UrlRejected) as excinfo:
        await check_webhook_url("http://hooks.portal.example/mpp", https_only=True, resolver=no_dns)
    assert [p.code for p in excinfo.value.problems] == ["url_scheme"]
    assert "https" in excinfo.value.problems[0].message


async def test_https_only_accepts_https() -> None:
    resolver = _fake_dns({"hooks.portal.example": ["93.184.216.34"]})
    checked = await check_webhook_url("https://hooks.portal.example/mpp", https_only=True, resolver=resolver)
    assert checked.scheme == "https"
