"""An index URL's user:password goes to that origin only, as HTTP Basic auth."""

from __future__ import annotations

import base64

from phase4gate.adapters.http import _split_userinfo, with_credentials_of

INDEX = "https://alice:s%40cret@pkgs.example.invalid/simple/"


def test_the_index_s_credentials_reach_its_own_files() -> None:
    url = with_credentials_of("https://pkgs.example.invalid/files/a.whl", INDEX)
    assert url == "https://alice:s%40cret@pkgs.example.invalid/files/a.whl"


def test_never_another_origin() -> None:
    for other in (
        "https://cdn.example.invalid/files/a.whl",  # another host
        "http://pkgs.example.invalid/files/a.whl",  # another scheme
        "https://pkgs.example.invalid:8443/files/a.whl",  # another port
    ):
        assert with_credentials_of(other, INDEX) == other
    assert with_credentials_of("https://pkgs.example.invalid/a", "https://pkgs.example.invalid/simple/") == (
        "https://pkgs.example.invalid/a"
    )


def test_userinfo_becomes_a_basic_header_and_leaves_the_url() -> None:
    url, auth = _split_userinfo(INDEX)
    assert url == "https://pkgs.example.invalid/simple/"
    assert auth == "Basic " + base64.b64encode(b"alice:s@cret").decode()
    assert _split_userinfo("https://pkgs.example.invalid/simple/") == ("https://pkgs.example.invalid/simple/", None)
    assert _split_userinfo("http://bob@[::1]:8080/x")[0] == "http://[::1]:8080/x"
