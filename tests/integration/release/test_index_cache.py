"""pip's default index is learned once and cached, keyed by everything that can change pip's answer (issue 23).

The interpreter handed to :func:`default_index_url` is a real script that records
each call in a file and then runs the real Python (so the real pip answers); its
own ``lib/python3.X/site-packages`` holds a ``pip`` package and dist-info, which
is what the cache key reads for pip's version (pip is never imported here).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from phase4gate.adapters.index import CACHE_FILE, cache_dir, default_index_url, resolve_index_url
from phase4gate.errors import PackageIndexError
from phase4gate.sandbox.index import IndexEmulator

HANG_GUARD_SECONDS = 120
_PYVER = f"python{sys.version_info[0]}.{sys.version_info[1]}"


@attrs.define
class FakePython:
    """A recording interpreter: ``bin/python`` logs its calls, then runs the real one."""

    root: Path
    log: Path
    env: dict[str, str]

    @property
    def python(self) -> str:
        """The interpreter path to hand to default_index_url."""
        return str(self.root / "bin" / "python")

    @property
    def site(self) -> Path:
        """Its site-packages, where the cache key looks for pip's dist-info."""
        return self.root / "lib" / _PYVER / "site-packages"

    @property
    def user_config(self) -> Path:
        """pip's user configuration file under this environment's XDG_CONFIG_HOME."""
        return Path(self.env["XDG_CONFIG_HOME"]) / "pip" / "pip.conf"

    @property
    def cache_file(self) -> Path:
        """The cache file default_index_url keeps."""
        return Path(self.env["PHASE4GATE_CACHE_DIR"]) / CACHE_FILE

    def calls(self) -> int:
        """How many times pip was asked (the script was run)."""
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    def ask(self) -> str:
        """Call default_index_url with this interpreter and environment."""
        return default_index_url(python=self.python, environ=self.env)


@pytest.fixture
def fake(tmp_path: Path) -> FakePython:
    """A recording interpreter with pip 23.3.1's dist-info, a private HOME, config dir and cache dir."""
    root = tmp_path / "env"
    log = tmp_path / "pip-calls.log"
    (root / "bin").mkdir(parents=True)
    script = root / "bin" / "python"
    script.write_text(f'#!/bin/sh\necho call >> "{log}"\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    site = root / "lib" / _PYVER / "site-packages"
    (site / "pip").mkdir(parents=True)
    (site / "pip" / "__init__.py").write_text('__version__ = "23.3.1"\n', encoding="utf-8")
    (site / "pip-23.3.1.dist-info").mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PHASE4GATE_CACHE_DIR": str(tmp_path / "cache"),
    }
    return FakePython(root, log, env)


def _pip_default() -> str:
    """pip's built-in default index, as the installed pip states it (no host name written here)."""
    code = "from pip._internal.models.index import PyPI; print(PyPI.simple_url)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


def _write_config(fake: FakePython, url: str) -> Path:
    conf = fake.user_config
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(f"[global]\nindex-url = {url}\n", encoding="utf-8")
    return conf


def test_second_call_uses_the_cache_and_gives_pips_answer(fake: FakePython) -> None:
    """Without configuration: pip's own default, asked once; the second call runs no pip child."""
    assert fake.ask() == _pip_default()
    assert fake.calls() == 1
    assert fake.ask() == _pip_default()
    assert fake.calls() == 1
    data = json.loads(fake.cache_file.read_text())
    assert data["version"] == 1
    assert [e["url"] for e in data["entries"].values()] == [_pip_default()]
    assert stat.S_IMODE(fake.cache_file.stat().st_mode) == 0o600


def test_user_config_answer_is_cached_and_a_changed_mtime_asks_again(fake: FakePython) -> None:
    """pip 26's configuration shape (file -> {key: value}) is read; touching the file re-asks pip."""
    conf = _write_config(fake, "http://127.0.0.1:9/first/")
    assert (fake.ask(), fake.calls()) == ("http://127.0.0.1:9/first/", 1)
    assert (fake.ask(), fake.calls()) == ("http://127.0.0.1:9/first/", 1)
    before = conf.stat().st_mtime_ns
    conf.write_text("[global]\nindex-url = http://127.0.0.1:9/second/\n", encoding="utf-8")
    os.utime(conf, ns=(before + 5_000_000_000, before + 5_000_000_000))
    assert (fake.ask(), fake.calls()) == ("http://127.0.0.1:9/second/", 2)
    os.utime(conf, ns=(before + 9_000_000_000, before + 9_000_000_000))
    assert (fake.ask(), fake.calls()) == ("http://127.0.0.1:9/second/", 3)
    assert (fake.ask(), fake.calls()) == ("http://127.0.0.1:9/second/", 3)


def test_pip_config_file_variable_and_a_new_config_file_ask_again(fake: FakePython, tmp_path: Path) -> None:
    """PIP_CONFIG_FILE is part of the key (its path and mtime); a config file that appears re-asks."""
    assert fake.ask() == _pip_default()
    conf = tmp_path / "pip-extra.conf"
    conf.write_text("[install]\nindex-url = http://127.0.0.1:9/install/\n", encoding="utf-8")
    fake.env["PIP_CONFIG_FILE"] = str(conf)
    assert (fake.ask(), fake.calls()) == ("http://127.0.0.1:9/install/", 2)
    assert fake.calls() == 2
    del fake.env["PIP_CONFIG_FILE"]
    assert (fake.ask(), fake.calls()) == (_pip_default(), 2)  # the first key is still cached
    _write_config(fake, "http://127.0.0.1:9/user/")
    assert (fake.ask(), fake.calls()) == ("http://127.0.0.1:9/user/", 3)


@pytest.mark.parametrize(("name", "value"), [("PIP_TIMEOUT", "30"), ("UV_NATIVE_TLS", "1"), ("PIP_NO_INPUT", "")])
def test_a_changed_pip_or_uv_variable_asks_again(fake: FakePython, name: str, value: str) -> None:
    """Any PIP_* or UV_* variable, even one pip would ignore, is part of the key."""
    fake.ask()
    fake.env[name] = value
    fake.ask()
    assert fake.calls() == 2
    fake.env[name] = value + "x"
    fake.ask()
    fake.ask()
    assert fake.calls() == 3


def test_a_changed_pip_version_asks_again(fake: FakePython) -> None:
    """Upgrading the pip the child would import (its dist-info) re-asks; pip itself is never imported to learn it."""
    fake.ask()
    (fake.site / "pip-23.3.1.dist-info").rename(fake.site / "pip-26.0.dist-info")
    fake.ask()
    assert fake.calls() == 2
    fake.ask()
    assert fake.calls() == 2


@pytest.mark.parametrize(
    "garbage",
    [b"", b"{not json", b"[]", b'{"version": 1, "entries": []}', b'{"version": 99, "entries": {}}', b"\xff\xfe"],
)
def test_a_corrupt_cache_file_is_ignored_and_rewritten(fake: FakePython, garbage: bytes) -> None:
    """A cache file that is not ours is an empty cache: pip is asked, the file rewritten, then used."""
    fake.cache_file.parent.mkdir(parents=True)
    fake.cache_file.write_bytes(garbage)
    assert fake.ask() == _pip_default()
    assert fake.calls() == 1
    data = json.loads(fake.cache_file.read_text())
    assert [e["url"] for e in data["entries"].values()] == [_pip_default()]
    assert fake.ask() == _pip_default()
    assert fake.calls() == 1


def test_a_tampered_entry_that_is_not_a_url_is_not_used(fake: FakePython) -> None:
    """An entry whose URL is not http(s) is ignored: pip is asked again."""
    fake.ask()
    data = json.loads(fake.cache_file.read_text())
    data["entries"] = {k: {"url": "file:///etc/passwd"} for k in data["entries"]}
    fake.cache_file.write_text(json.dumps(data))
    assert fake.ask() == _pip_default()
    assert fake.calls() == 2


def test_credentials_are_never_written_and_such_an_answer_is_asked_each_time(fake: FakePython) -> None:
    """An index URL with userinfo is returned as pip gives it, but never cached (a secret would land on disk)."""
    _write_config(fake, "http://user:s3cret-pw@127.0.0.1:9/simple/")
    fake.env["PIP_EXTRA_INDEX_URL"] = "http://other:t0ken-value@127.0.0.1:9/extra/"
    assert fake.ask() == "http://user:s3cret-pw@127.0.0.1:9/simple/"
    assert fake.ask() == "http://user:s3cret-pw@127.0.0.1:9/simple/"
    assert fake.calls() == 2
    assert not fake.cache_file.exists()
    del fake.env["PIP_EXTRA_INDEX_URL"]
    _write_config(fake, "http://127.0.0.1:9/simple/")
    fake.env["PIP_EXTRA_INDEX_URL"] = "http://other:t0ken-value@127.0.0.1:9/extra/"
    assert fake.ask() == "http://127.0.0.1:9/simple/"
    text = fake.cache_file.read_text()
    assert "t0ken-value" not in text
    assert "s3cret-pw" not in text
    assert "PIP_EXTRA_INDEX_URL" not in text


def test_failures_are_not_cached(fake: FakePython, tmp_path: Path) -> None:
    """An interpreter without pip: an error each time, nothing written."""
    no_pip = tmp_path / "no-pip"
    subprocess.run(["uv", "venv", "-q", str(no_pip), "--python", sys.executable], check=True, timeout=120)
    for _ in range(2):
        with pytest.raises(PackageIndexError, match="pip did not report a default index"):
            default_index_url(python=str(no_pip / "bin" / "python"), environ=fake.env)
    assert not fake.cache_file.exists()


def test_cache_dir_precedence(tmp_path: Path) -> None:
    """PHASE4GATE_CACHE_DIR, else XDG_CACHE_HOME/phase4gate, else HOME/.cache/phase4gate."""
    env = {"HOME": str(tmp_path / "h"), "XDG_CACHE_HOME": str(tmp_path / "x"), "PHASE4GATE_CACHE_DIR": str(tmp_path)}
    assert cache_dir(env) == tmp_path
    del env["PHASE4GATE_CACHE_DIR"]
    assert cache_dir(env) == tmp_path / "x" / "phase4gate"
    del env["XDG_CACHE_HOME"]
    assert cache_dir(env) == tmp_path / "h" / ".cache" / "phase4gate"


def test_explicit_urls_never_ask_pip(fake: FakePython) -> None:
    """release.index_url, PIP_INDEX_URL and UV_INDEX_URL win as before; pip is not asked, nothing cached."""
    assert resolve_index_url("http://127.0.0.1:9/a", fake.env) == "http://127.0.0.1:9/a/"
    assert resolve_index_url(None, {**fake.env, "PIP_INDEX_URL": "http://127.0.0.1:9/b"}) == "http://127.0.0.1:9/b/"
    assert resolve_index_url(None, {**fake.env, "UV_INDEX_URL": "http://127.0.0.1:9/c"}) == "http://127.0.0.1:9/c/"
    assert not fake.cache_file.exists()


def test_resolve_rc_default_path_uses_the_cache(index: IndexEmulator, tmp_path: Path) -> None:
    """``resolve-rc`` without --index-url: pip's config names the emulator; the second run reads the cache.

    The proof that no pip ran the second time: the config file is rewritten in place
    to name a dead index with the same size and mtime, so only a cached answer still
    reaches the emulator.
    """
    config = tmp_path / "config" / "pip" / "pip.conf"
    config.parent.mkdir(parents=True)
    live = f"[global]\nindex-url = {index.simple_url}\n"
    config.write_text(live, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    env["PHASE4GATE_CACHE_DIR"] = str(tmp_path / "cache")
    argv = [sys.executable, "-m", "phase4gate", "resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15"]

    def resolve() -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=HANG_GUARD_SECONDS)

    first = resolve()
    assert (first.returncode, first.stdout) == (0, "3.2.0rc16\n"), first.stderr
    before = config.stat()
    dead = live.replace("127.0.0.1", "127.0.0.2")
    assert len(dead) == len(live)
    config.write_text(dead, encoding="utf-8")
    os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns))
    second = resolve()
    assert (second.returncode, second.stdout) == (0, "3.2.0rc16\n"), second.stderr
    assert index.count("GET", "/simple/spec-kitty-cli/") == 2
