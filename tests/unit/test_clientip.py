"""The client address behind reverse proxies: FEDI_TRUSTED_PROXIES and X-Forwarded-For."""

from __future__ import annotations

import pytest

from fedi.config import DEFAULT_TRUSTED_PROXIES, Config
from fedi.errors import ConfigError
from fedi.web.clientip import networks, parse, resolve

DEFAULT = networks(DEFAULT_TRUSTED_PROXIES)


def test_no_header_or_no_trusted_proxy_means_the_peer():
    assert resolve("203.0.113.9", [], DEFAULT) == "203.0.113.9"
    assert resolve("127.0.0.1", [], DEFAULT) == "127.0.0.1"
    assert resolve("127.0.0.1", ["198.51.100.7"], networks(())) == "127.0.0.1"
    assert resolve(None, [], DEFAULT) == "-"


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored():
    assert resolve("203.0.113.9", ["198.51.100.7"], DEFAULT) == "203.0.113.9"
    assert resolve("203.0.113.9", ["127.0.0.1, 10.0.0.1"], DEFAULT) == "203.0.113.9"
    # a public address is not trusted just because it is listed in the header
    assert resolve("2001:db8::5", ["::1"], DEFAULT) == "2001:db8::5"


def test_one_proxy_on_loopback():
    assert resolve("127.0.0.1", ["198.51.100.7"], DEFAULT) == "198.51.100.7"
    # what the client sent itself stays left of what nginx appended: the rightmost untrusted one wins
    assert resolve("127.0.0.1", ["6.6.6.6, 198.51.100.7"], DEFAULT) == "198.51.100.7"
    assert resolve("127.0.0.1", ["6.6.6.6", "198.51.100.7"], DEFAULT) == "198.51.100.7"   # two header lines


def test_a_chain_of_several_proxies():
    nets = networks(("127.0.0.1", "10.0.0.0/8", "192.0.2.10"))           # CDN edge 192.0.2.10 -> LB -> nginx
    chain = ["6.6.6.6, 198.51.100.7, 192.0.2.10, 10.1.2.3"]
    assert resolve("127.0.0.1", chain, nets) == "198.51.100.7"
    # the CDN is not trusted with the default list: its own address is the client
    assert resolve("10.9.9.9", chain, DEFAULT) == "192.0.2.10"
    # every hop trusted (a client on the private network itself): the leftmost address
    assert resolve("127.0.0.1", ["192.168.1.5, 10.0.0.2"], DEFAULT) == "192.168.1.5"


def test_ipv6():
    assert resolve("::1", ["2001:db8::1"], DEFAULT) == "2001:db8::1"
    assert resolve("::1", ["[2001:DB8::1]:4711"], DEFAULT) == "2001:db8::1"                # one bucket per address
    assert resolve("fd00::2", ["2001:db8::1, fd00::3"], DEFAULT) == "2001:db8::1"
    assert resolve("::ffff:127.0.0.1", ["198.51.100.7"], DEFAULT) == "198.51.100.7"      # dual-stack socket
    assert resolve("::1", ["::ffff:198.51.100.7"], DEFAULT) == "198.51.100.7"
    assert resolve("2001:db8::9", ["198.51.100.7"], networks(("2001:db8::/64",))) == "198.51.100.7"


def test_malformed_values():
    assert resolve("127.0.0.1", ["not-an-ip"], DEFAULT) == "127.0.0.1"
    assert resolve("127.0.0.1", [""], DEFAULT) == "127.0.0.1"
    assert resolve("127.0.0.1", [" , ,"], DEFAULT) == "127.0.0.1"
    assert resolve("127.0.0.1", ["unknown, 198.51.100.7"], DEFAULT) == "198.51.100.7"
    assert resolve("127.0.0.1", ["198.51.100.7:8080"], DEFAULT) == "198.51.100.7"
    # a malformed entry behind trusted hops: the last address a proxy vouched for stands, never the junk
    assert resolve("127.0.0.1", ["junk<script>, 10.0.0.2"], DEFAULT) == "10.0.0.2"
    assert resolve("127.0.0.1", ["1.2.3.4, 999.1.1.1, 10.0.0.2"], DEFAULT) == "10.0.0.2"
    # a Unix-socket peer (Quart says "<local>") is local: trusted like loopback
    assert resolve("<local>", ["198.51.100.7"], DEFAULT) == "198.51.100.7"
    assert resolve("<local>", ["junk"], DEFAULT) == "<local>"
    assert parse("fe80::1%eth0") is not None and parse("example.org") is None and parse("1.2.3") is None


def test_setting(tmp_path):
    base = {"FEDI_DOMAIN": "pics.example", "FEDI_CONFIG": str(tmp_path / "none.toml")}
    assert Config.from_env(base).trusted_proxies == DEFAULT_TRUSTED_PROXIES
    cfg = Config.from_env({**base, "FEDI_TRUSTED_PROXIES": "192.0.2.10, 10.0.0.0/8 2001:db8::/32,10.1.2.3/8"})
    assert cfg.trusted_proxies == ("192.0.2.10/32", "10.0.0.0/8", "2001:db8::/32", "10.0.0.0/8")
    assert Config.from_env({**base, "FEDI_TRUSTED_PROXIES": "none"}).trusted_proxies == ()
    toml = tmp_path / "fedi.toml"
    toml.write_text('domain = "pics.example"\ntrusted_proxies = ["192.0.2.0/24", "::1"]\n')
    assert Config.from_env({"FEDI_CONFIG": str(toml)}).trusted_proxies == ("192.0.2.0/24", "::1/128")
    with pytest.raises(ConfigError, match="FEDI_TRUSTED_PROXIES"):
        Config.from_env({**base, "FEDI_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example"})
