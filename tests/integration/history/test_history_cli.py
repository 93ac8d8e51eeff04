"""The ``history`` commands as a user runs them: subprocesses of ``python -m phase4gate``.

The evidence root comes from ``phase4gate demo --history`` (rc16 stops on a new
signature, a green rc17 follows), built once for this module; ``render-comment history
--post`` is checked against the GitHub emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from attrs import frozen

from phase4gate import convert
from phase4gate.adapters.github import GitHubClient
from phase4gate.checks.comments import parse_marker, render_marker
from phase4gate.checks.history import History
from phase4gate.config import CommentsConfig, GateConfig, GitHubConfig, to_toml
from phase4gate.errors import ExitCode
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO, default_seed
from tests.conftest import HANG_GUARD_SECONDS
from tests.integration.history.gfm import parse_tables, tables_after

GATE = "phase4-canary-gate-01KS1W46"
TRACKER = f"{CLI_REPO}#1038"


@frozen
class Demo:
    """The demo's evidence root and what it printed."""

    root: Path
    stdout: str
    stderr: str


def _cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = HANG_GUARD_SECONDS
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"GITHUB_TOKEN", "GITHUB_STEP_SUMMARY"}}
    return subprocess.run(
        [sys.executable, "-m", "phase4gate", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**base, **(env or {})},
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """``phase4gate demo --history`` run once: its evidence root and output."""
    root = tmp_path_factory.mktemp("history-demo") / "evidence"
    proc = _cli("demo", "--history", "--evidence-root", str(root), timeout=4 * HANG_GUARD_SECONDS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Demo(root, proc.stdout, proc.stderr)


def test_demo_history_prints_the_series(demo: Demo) -> None:
    """The demo's history: rc17 cleared, rc16 stopped at WP04 on a new signature, as GFM tables."""
    assert "as expected" in demo.stderr
    assert "- Cleared: ✅ rc17 (3.2.0rc17) cleared the whole gate" in demo.stdout
    runs16, matrix16, unknown16 = tables_after(demo.stdout, "## rc16 (3.2.0rc16): ❌ not cleared")
    assert runs16.column("stopped at") == ["WP04"]
    assert runs16.column("kind") == ["failed"]
    assert matrix16.column("S1") == ["❌ fail: new signature"]
    assert "Batch sync failed (400)" in unknown16.column("failure")[0]
    runs17, matrix17 = tables_after(demo.stdout, "## rc17 (3.2.0rc17): ✅ cleared")
    assert runs17.column("verdict") == ["✅ passed"]
    assert len(matrix17.rows) == 5


def test_history_markdown_and_json(demo: Demo) -> None:
    """``history`` prints parseable tables; ``--json`` the versioned shape, which structures into History."""
    md = _cli("history", "--evidence-root", str(demo.root))
    js = _cli("history", "--evidence-root", str(demo.root), "--json", "--rc", "rc16")

    assert md.returncode == 0, md.stderr
    assert len(parse_tables(md.stdout)) >= 5
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    assert data["schema"] == "phase4gate.history/1"
    history = convert.structure(data, History, source="stdout")
    assert [h.rc for h in history.rcs] == ["rc16"]
    assert history.cleared is None
    assert history.rcs[0].unknown_signatures[0].scenarios == (1,)


def test_unreadable_root_exits_3_and_bad_since_exits_2(tmp_path: Path) -> None:
    """A root that cannot be read is exit 3 with an error line; a bad --since is a usage error; no traceback."""
    missing = _cli("history", "--evidence-root", str(tmp_path / "nowhere"))
    bad = _cli("history", "--evidence-root", str(tmp_path), "--since", "last tuesday")

    assert missing.returncode == ExitCode.INFRA
    assert missing.stderr.startswith("error: cannot read the evidence root")
    assert "Traceback" not in missing.stderr
    assert bad.returncode == ExitCode.USAGE
    assert "--since: expected an ISO 8601 date" in bad.stderr


def test_render_comment_history_carries_the_history_marker(demo: Demo) -> None:
    """The comment body is the history plus a marker for "<gate id>-history" on the tracker (#1038)."""
    proc = _cli("render-comment", "history", "--evidence-root", str(demo.root))

    assert proc.returncode == 0, proc.stderr
    marker = parse_marker(proc.stdout)
    assert marker is not None
    assert (marker.gate_id, marker.issue) == (f"{GATE}-history", TRACKER)
    assert proc.stdout.startswith("## phase4gate history\n")
    assert len(parse_tables(proc.stdout)) >= 5


def test_post_twice_edits_one_comment_in_place_and_never_closes(demo: Demo, tmp_path: Path) -> None:
    """--post twice: one history comment, edited in place; the #1038 evidence comment untouched; #1038 open."""
    with GitHubEmulator(default_seed()) as github:
        client = GitHubClient(github.api_url, github.token, max_retries=1)
        evidence_body = "evidence comment\n\n" + render_marker(GATE, TRACKER, "0" * 64) + "\n"
        evidence = client.create_comment(CLI_REPO, 1038, evidence_body)
        config = tmp_path / "gate.toml"
        config.write_text(
            to_toml(
                GateConfig(
                    github=GitHubConfig(api_url=github.api_url, cli_repo=CLI_REPO, e2e_repo=E2E_REPO, max_retries=1),
                    comments=CommentsConfig(min_write_interval_seconds=0.0),
                )
            ),
            encoding="utf-8",
        )
        args = ("render-comment", "history", "--post", "--json", "--config", str(config))
        env = {"GITHUB_TOKEN": github.token}
        first = _cli(*args, "--evidence-root", str(demo.root), env=env)
        second = _cli(*args, "--evidence-root", str(demo.root), env=env)
        with github.lock:
            issue = github.state.issue(CLI_REPO, 1038)
            comments = [(c.id, c.author, c.body) for c in issue.comments]
            state = issue.state
        closes = [r for r in github.writes() if r.method == "PATCH" and "/issues/1038" in r.path and b"state" in r.body]
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert one["posted"]["action"] == "create"
    assert two["posted"]["action"] in {"update", "none"}
    assert two["posted"]["comment_id"] == one["posted"]["comment_id"]
    assert two["posted"]["state"] == "open"
    history_comments = [c for c in comments if (m := parse_marker(c[2])) is not None and m.gate_id == f"{GATE}-history"]
    assert [(c[0], c[2]) for c in history_comments] == [(one["posted"]["comment_id"], two["body"])]
    assert (evidence.id, evidence_body) in [(c[0], c[2]) for c in comments]
    assert state == "open"
    assert closes == []
    assert github.token not in first.stdout + first.stderr + second.stdout + second.stderr


def test_post_never_takes_the_api_url_or_token_variable_from_a_journal(demo: Demo, tmp_path: Path) -> None:
    """A run folder whose journal records another API URL (planted, or an old sandbox run) gets no request.

    The operator's ./gate.toml decides where the token goes; the newest journal only feeds the summary.
    """
    import shutil

    root = tmp_path / "evidence"
    shutil.copytree(demo.root, root)
    with GitHubEmulator(default_seed()) as github, GitHubEmulator(default_seed()) as decoy:
        newest = max(root.glob("*/journal.jsonl"))
        planted = root / "zzzz-planted"
        planted.mkdir()
        lines = newest.read_text(encoding="utf-8").splitlines()
        events = [json.loads(line) for line in lines]
        for event in events:
            if event.get("event") == "gate-start":
                event["config"]["github"]["api_url"] = decoy.api_url
                event["config"]["github"]["token_env"] = "DECOY_TOKEN"
        (planted / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
        work = tmp_path / "work"
        work.mkdir()
        (work / "gate.toml").write_text(
            to_toml(
                GateConfig(
                    github=GitHubConfig(api_url=github.api_url, cli_repo=CLI_REPO, e2e_repo=E2E_REPO, max_retries=1),
                    comments=CommentsConfig(min_write_interval_seconds=0.0),
                )
            ),
            encoding="utf-8",
        )
        base = {k: v for k, v in os.environ.items() if k not in {"GITHUB_TOKEN", "GITHUB_STEP_SUMMARY"}}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "phase4gate",
                "render-comment",
                "history",
                "--post",
                "--json",
                "--evidence-root",
                str(root),
            ],
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_SECONDS,
            check=False,
            cwd=work,
            env={**base, "GITHUB_TOKEN": github.token, "DECOY_TOKEN": decoy.token},
        )
        decoy_requests = len(decoy.requests)
        with github.lock:
            posted = [c for c in github.state.issue(CLI_REPO, 1038).comments if c.author == "gate-bot"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert decoy_requests == 0
    assert len(posted) == 1
    assert json.loads(proc.stdout)["posted"]["action"] == "create"
