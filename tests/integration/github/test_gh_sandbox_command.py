"""`phase4gate sandbox`: one JSON line first, a working emulator, a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import io
import json
import os
import selectors
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from phase4gate.adapters.github import GitHubClient
from phase4gate.checks.blockers import check_blockers_closed
from phase4gate.cli import main
from phase4gate.commands.sandbox import serve
from tests.conftest import HANG_GUARD_SECONDS

EXE = shutil.which("phase4gate")


def _read_line(proc: subprocess.Popen[str]) -> str:
    """Read the first stdout line within the hang guard."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    ready = sel.select(timeout=HANG_GUARD_SECONDS)
    sel.close()
    assert ready, "phase4gate sandbox printed nothing"
    return proc.stdout.readline()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sandbox_serves_until_a_signal(
    sig: signal.Signals, seen_tokens: list[str], token_output_allowed: list[bool]
) -> None:
    """The JSON line names the whole world (GitHub, index, SaaS, repositories); a signal stops it with exit 0."""
    assert EXE, "the phase4gate console script is not installed"
    proc = subprocess.Popen(
        [EXE, "sandbox"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        line = json.loads(_read_line(proc))
        seen_tokens.extend([line["token"], line["read_only_token"]])
        client = GitHubClient(line["github"], line["token"], sleep=lambda _s: None)
        snapshot = client.issue("Priivacy-ai/spec-kitty", 1038)
        verdict = check_blockers_closed([client.issue("Priivacy-ai/spec-kitty", n) for n in (1141, 1182)])
        fix = line["fix_1141"]
        contained = client.compare_status("Priivacy-ai/spec-kitty", fix, "v3.2.0rc16")
        rc16 = client.tag_sha("Priivacy-ai/spec-kitty", "v3.2.0rc16")
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=HANG_GUARD_SECONDS)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=HANG_GUARD_SECONDS)
    assert line["github"].startswith("http://127.0.0.1:")
    assert line["index"].startswith("http://127.0.0.1:")
    assert line["saas"].startswith("http://127.0.0.1:")
    assert not Path(line["cli_repo"]).exists(), "the world's temporary repositories outlived it"
    assert line["github"].endswith("/api/v3")
    assert snapshot.state == "open"
    assert verdict.passed
    assert verdict.facts()["blocker_1141_closer"] == f"Priivacy-ai/spec-kitty@{fix}"
    assert contained == "ahead"
    assert len(rc16) == 40
    assert proc.returncode == 0
    assert "sandbox stopped" in err
    assert line["token"] not in err
    with pytest.raises(requests.ConnectionError):
        requests.get(line["github"] + "/rate_limit", timeout=5)


def test_serve_prints_one_line_and_stops_everything(seen_tokens: list[str], tmp_path: Path) -> None:
    """serve(): the line is the dict of started emulators; after stop the port is closed."""
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "repos": [{"full_name": "o/r"}],
                "issues": [{"repo": "o/r", "number": 7, "title": "seeded"}],
                "tokens": {"ghp_" + "1" * 36: {"login": "w"}, "ghp_" + "2" * 36: {"login": "r", "write": False}},
            }
        ),
        encoding="utf-8",
    )
    seen_tokens.extend(["ghp_" + "1" * 36, "ghp_" + "2" * 36])
    out = io.StringIO()
    stop = threading.Event()
    results: list[dict[str, str]] = []
    worker = threading.Thread(target=lambda: results.append(serve(argparse.Namespace(seed=str(seed)), stop, out)))
    worker.start()
    try:
        for _ in range(int(HANG_GUARD_SECONDS * 10)):
            if out.getvalue().endswith("\n"):
                break
            stop.wait(0.1)
        line = json.loads(out.getvalue())
        client = GitHubClient(line["github"], line["token"], sleep=lambda _s: None)
        title = client.issue("o/r", 7).title
    finally:
        stop.set()
        worker.join(HANG_GUARD_SECONDS)
    assert not worker.is_alive()
    assert set(line) == {"github", "token", "read_only_token"}
    assert (line["token"], line["read_only_token"]) == ("ghp_" + "1" * 36, "ghp_" + "2" * 36)
    assert title == "seeded"
    assert results == [line]
    assert out.getvalue().count("\n") == 1
    with pytest.raises(requests.ConnectionError):
        requests.get(line["github"] + "/rate_limit", timeout=5)


def test_a_bad_seed_file_is_exit_1_naming_it(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A malformed --seed: error naming the file, exit 1, no server left running."""
    seed = tmp_path / "broken.json"
    seed.write_text("{not json", encoding="utf-8")

    code = main(["sandbox", "--seed", str(seed)])

    assert code == 1
    assert str(seed) in capfd.readouterr().err
