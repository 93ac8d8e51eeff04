"""Issue 20, case 8: a 50,000-line diff gives bounded output, journal and report; the full text is kept."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from phase4gate.bench_audit import FILES, _source
from phase4gate.cli import main
from phase4gate.config import AuditConfig, BlockerConfig, GateConfig, GitHubConfig
from phase4gate.errors import ExitCode
from phase4gate.gate import Gate
from phase4gate.models import StepStatus
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, default_seed
from phase4gate.sandbox.repos import git
from phase4gate.textcap import LINE_LIMIT, REASON_LIMIT

BOUND = 64 * 1024  # what one audit may print, whatever the size of the diff
FULL_RE = re.compile(r"\(full text: ([^)]+)\)")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A real git repository whose HEAD changes 500 files, 100 lines each (50,000 changed lines).

    The benchmark's sources, committed with one ``git add`` per commit (its own builder adds file by file).
    """
    repo = tmp_path_factory.mktemp("big") / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    for fixed, message in ((False, "base"), (True, "big change")):
        for n in range(FILES):
            target = repo / f"src/pkg/mod_{n:03d}.py"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_source(n, fixed=fixed), encoding="utf-8")
        git(repo, "add", "--all")
        git(repo, "commit", "--quiet", "-m", message)
    return repo, git(repo, "rev-parse", "HEAD")


def test_audit_fix_text_is_bounded_and_the_full_text_kept(
    big: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Text output: every line and every listing capped, each naming the file that holds the full output."""
    repo, sha = big
    code = main(["audit-fix", "--repo", str(repo), sha, "--no-proof", "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out
    assert code == ExitCode.STOPPED
    assert len(out.encode()) < BOUND
    assert max(len(line) for line in out.splitlines()) <= LINE_LIMIT
    (path,) = set(FULL_RE.findall(out))
    full = Path(path).read_text(encoding="utf-8")
    assert Path(path).parent == tmp_path / "cache" / "audits"
    assert len(full) > 1_000_000  # the whole rendering: every file and symbol
    assert full.count("src/pkg/mod_") > 12_500
    reason = next(line for line in out.splitlines() if line.startswith("reason: "))
    assert re.search(r"… \d+ more characters \(full text: ", reason)
    kept_start = reason.split("… ", 1)[0]
    assert kept_start in full
    assert "  … 400 more files (full text: " in out
    assert "  … 12400 more changed symbols (full text: " in out


def test_audit_fix_json_is_bounded_and_the_full_json_kept(
    big: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json: strings and lists capped, what was cut counted under "truncated"; the full JSON is in the file."""
    repo, sha = big
    logs = tmp_path / "logs"
    code = main(["audit-fix", "--repo", str(repo), sha, "--no-proof", "--json", "--logs", str(logs)])
    raw = capsys.readouterr().out
    assert code == ExitCode.STOPPED
    assert len(raw.encode()) < BOUND
    data = json.loads(raw)
    assert data["verdict"] == "no-test"
    assert len(data["reason"]) <= LINE_LIMIT
    assert data["truncated"]["files"] == 400
    assert data["truncated"]["changed_symbols"] == 12_400
    assert len(data["files"]) == 100
    full = json.loads(Path(data["truncated"]["full_text"]).read_text(encoding="utf-8"))
    assert Path(data["truncated"]["full_text"]).parent == logs
    assert len(full["files"]) == 500
    assert len(full["changed_symbols"]) == 12_500
    assert full["reason"].startswith(data["reason"].split("… ", 1)[0])
    assert len(full["reason"]) > 400_000


@pytest.fixture
def github(big: tuple[Path, str]) -> Iterator[GitHubEmulator]:
    """GitHub with #1141 and #1182 both closed by the 50,000-line commit."""
    _, sha = big
    gh = GitHubEmulator(default_seed({1141: sha, 1182: sha})).start()
    yield gh
    gh.stop()


def test_wp01_reason_in_journal_and_report_is_bounded(
    big: tuple[Path, str], github: GitHubEmulator, tmp_path: Path
) -> None:
    """WP01 on the big commit: its reason is capped in the journal, report.json and report.md; the full text is kept."""
    repo, _ = big
    config = GateConfig(
        github=GitHubConfig(api_url=github.api_url, max_retries=0),
        blockers=(BlockerConfig(number=1141), BlockerConfig(number=1182)),
        audit=AuditConfig(checkouts={CLI_REPO: str(repo)}, proof=False),
    )
    environ = {"GITHUB_TOKEN": github.token, "PHASE4GATE_CACHE_DIR": str(tmp_path / "cache")}
    gate = Gate(config, evidence_root=tmp_path / "ev", environ=environ)
    report = gate.run(only="WP01")
    step = report.step("WP01")
    assert step is not None
    assert step.status is StepStatus.STOPPED
    assert len(step.reason) <= REASON_LIMIT
    # Each blocker's reason names its audit evidence, which holds the full reason.
    paths = FULL_RE.findall(step.reason)
    assert paths
    assert all(p.startswith("wp01/1/blocker-") and p.endswith(".audit.json") for p in paths)
    audit = json.loads((gate.run_dir / paths[0]).read_text(encoding="utf-8"))
    assert len(audit["reason"]) > 400_000
    for name in ("journal.jsonl", "report.json", "report.md"):
        text = (gate.run_dir / name).read_text(encoding="utf-8")
        assert max(len(line) for line in text.splitlines()) < 4 * REASON_LIMIT, name
    assert main(["verify", str(gate.run_dir)]) == ExitCode.PASSED
