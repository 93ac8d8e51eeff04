"""Canary runs cited as GitHub Actions runs, through the real WP06/WP08, report, attestation and verify.

WP05 is a stand-in that records what :mod:`phase4gate.canary_protocol` records for an
executor that cites its runs (``executor_run_ids`` / ``executor_run_urls``) and keeps
what the GitHub Actions executor keeps beside each run file (``run-N.actions.json``,
``run-N.artifact.zip``); WP06 and WP08 post to the GitHub emulator.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from phase4gate.adapters.store import reserve_attempt
from phase4gate.attest import ATTESTATION_NAME, read_statement
from phase4gate.cli import main
from phase4gate.config import to_toml
from phase4gate.gate import Step, StepContext
from phase4gate.models import FactValue, StepOutcome, StepStatus
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO
from phase4gate.verify import verify_run
from tests.integration.comments.gate_world import STAND_INS, gate_config, make_gate, run_file

RUN_IDS = {n: str(15_000_000_000 + n) for n in (1, 2, 3, 4)}
HEAD_SHA = "9" * 40


def actions_url(run_id: str) -> str:
    return f"https://github.com/{E2E_REPO}/actions/runs/{run_id}"


def artifact_zip(n: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("latest.json", date_time=(2026, 5, 20, 10, 0, 0)), json.dumps(run_file(n)))
    return buf.getvalue()


def _wp05_actions(*, meta_run_id: dict[int, str] | None = None, broken_meta: int | None = None) -> Step:
    """WP05 as the Actions executor leaves it: run files, metadata and artifact per run, citations as facts."""

    def run(ctx: StepContext) -> StepOutcome:
        attempt = reserve_attempt(ctx.evidence_root, ctx.store.root, "rc16")
        refs = []
        for n in (1, 2, 3, 4):
            base = f"{attempt}/runs/run-{n}"
            meta = {
                "id": int((meta_run_id or RUN_IDS)[n]),
                "run_number": 40 + n,
                "run_attempt": 1,
                "html_url": actions_url((meta_run_id or RUN_IDS)[n]),
                "head_sha": HEAD_SHA,
                "event": "workflow_dispatch",
            }
            refs.append(ctx.store.write_text(f"{base}.json", json.dumps(run_file(n), indent=2) + "\n"))
            refs.append(ctx.store.write_bytes(f"{base}.artifact.zip", artifact_zip(n)))
            refs.append(ctx.store.write_json(f"{base}.actions.json", {"run_number": 3} if n == broken_meta else meta))
        refs.append(ctx.store.seal(attempt))
        facts: dict[str, FactValue] = {
            "attempt_dir": attempt,
            "runs_passed": 4,
            "cells_passed": 16,
            "run_files": ",".join(f"{attempt}/runs/run-{n}.json" for n in (1, 2, 3, 4)),
            "run_ids": ",".join(str(run_file(n)["run_id"]) for n in (1, 2, 3, 4)),
            "executor_run_ids": ",".join(RUN_IDS[n] for n in (1, 2, 3, 4)),
            "executor_run_urls": ",".join(actions_url(RUN_IDS[n]) for n in (1, 2, 3, 4)),
        }
        return StepOutcome.passed("4/4 on GitHub Actions (stand-in)", facts=facts, evidence=tuple(refs))

    return run


def _posted(github: GitHubEmulator, repo: str, number: int) -> str:
    with github.lock:
        return next(c.body for c in github.state.issue(repo, number).comments if c.author == "gate-bot")


@pytest.fixture
def actions_gate(github: GitHubEmulator, evidence_root: Path) -> tuple[Path, str]:
    """A green gate whose four WP05 runs are GitHub Actions runs: (run folder, run id)."""
    gate = make_gate(github, evidence_root, steps={**STAND_INS, "WP05": _wp05_actions()})
    report = gate.run()
    assert report.verdict is StepStatus.PASSED, [s.reason for s in report.steps]
    return gate.run_dir, gate.run_id


def test_e2e_comment_links_each_run_to_its_actions_run(github: GitHubEmulator, actions_gate: tuple[Path, str]) -> None:
    """The posted e2e#41 table has a run_id column; each id links to its Actions run."""
    body = _posted(github, E2E_REPO, 41)

    assert "| Run | run_id | Scenario 1 | Scenario 2 | Scenario 3 | Scenario 4 |" in body
    for n, run_id in RUN_IDS.items():
        assert f"| {n} | [{run_id}]({actions_url(run_id)}) | pass | pass | pass | pass |" in body


def test_tracker_comment_cites_the_actions_runs(github: GitHubEmulator, actions_gate: tuple[Path, str]) -> None:
    """The posted #1038 comment carries the launch-gate table with each Actions run."""
    body = _posted(github, CLI_REPO, 1038)

    assert "| Run | run_id | S1 | S2 | S3 | S4 | outcome |" in body
    for n, run_id in RUN_IDS.items():
        assert f"| {n} | [{run_id}]({actions_url(run_id)}) | pass | pass | pass | pass | pass |" in body


def test_report_carries_the_citations_and_verify_is_clean(actions_gate: tuple[Path, str]) -> None:
    """report.md lists each cited run, report.json has canary_runs, and verify re-projects both: clean."""
    run_dir, _ = actions_gate
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    data = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))

    assert "## Canary runs by executor" in md
    for n, run_id in RUN_IDS.items():
        assert f"| WP05 | {n} | [{run_id}]({actions_url(run_id)}) | `rc16-attempt1/runs/run-{n}.json` |" in md
    assert [(r["wp"], r["run"], r["run_id"], r["url"]) for r in data["canary_runs"]] == [
        ("WP05", n, RUN_IDS[n], actions_url(RUN_IDS[n])) for n in (1, 2, 3, 4)
    ]
    findings = verify_run(run_dir)
    assert findings.ok, findings.render()


def test_attestation_has_each_artifact_zip_as_a_subject(actions_gate: tuple[Path, str]) -> None:
    """Each run's artifact zip is a subject by its sha256, annotated with its run; the predicate names the run."""
    run_dir, _ = actions_gate
    statement, _envelope = read_statement(run_dir / ATTESTATION_NAME)
    subjects = {s["name"]: s for s in statement["subject"]}
    runs = {r["file"]: r for r in statement["predicate"]["canary_runs"]}

    for n, run_id in RUN_IDS.items():
        zip_rel = f"rc16-attempt1/runs/run-{n}.artifact.zip"
        digest = hashlib.sha256((run_dir / zip_rel).read_bytes()).hexdigest()
        assert subjects[zip_rel]["digest"] == {"sha256": digest}
        assert subjects[zip_rel]["annotations"] == {
            "phase4gate.canary_artifact": {
                "run_file": f"rc16-attempt1/runs/run-{n}.json",
                "run_number": n,
                "executor_run_id": run_id,
                "executor_run_url": actions_url(run_id),
            }
        }
        run = runs[f"rc16-attempt1/runs/run-{n}.json"]
        assert run["artifact"] == {"file": zip_rel, "sha256": digest}
        assert run["executor_run"] == {
            "file": f"rc16-attempt1/runs/run-{n}.actions.json",
            "id": run_id,
            "html_url": actions_url(run_id),
            "run_number": 40 + n,
            "run_attempt": 1,
            "head_sha": HEAD_SHA,
        }


def test_local_attestation_has_no_executor_evidence(github: GitHubEmulator, evidence_root: Path) -> None:
    """A local WP05 keeps no Actions files: no artifact, no executor run, no annotations; verify clean."""
    gate = make_gate(github, evidence_root)
    assert gate.run().verdict is StepStatus.PASSED
    statement, _ = read_statement(gate.run_dir / ATTESTATION_NAME)

    assert all("annotations" not in s for s in statement["subject"])
    for run in statement["predicate"]["canary_runs"]:
        assert "artifact" not in run
        assert "executor_run" not in run
    assert "canary_runs" not in json.loads((gate.run_dir / "report.json").read_text(encoding="utf-8"))
    assert "Canary runs by executor" not in (gate.run_dir / "report.md").read_text(encoding="utf-8")
    assert verify_run(gate.run_dir).ok


def test_render_comment_prints_the_posted_actions_bodies(
    github: GitHubEmulator,
    actions_gate: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """render-comment reads the same comment facts (run files and Actions metadata): byte for byte what was posted."""
    run_dir, run_id = actions_gate
    config = tmp_path / "gate.toml"
    config.write_text(to_toml(gate_config(github)), encoding="utf-8")
    common = ["--config", str(config), "--evidence-root", str(run_dir.parent)]

    assert main(["render-comment", "e2e-41", run_id, *common]) == 0
    assert capsys.readouterr().out == _posted(github, E2E_REPO, 41)
    assert main(["render-comment", "issue-1038", run_id, *common]) == 0
    assert capsys.readouterr().out == _posted(github, CLI_REPO, 1038)


def test_metadata_of_another_run_stops_wp06_before_posting(github: GitHubEmulator, evidence_root: Path) -> None:
    """Run 2's kept metadata is another Actions run than WP05 cites: WP06 stops (failed), nothing is posted."""
    other = {**RUN_IDS, 2: "15000000999"}
    report = make_gate(github, evidence_root, steps={**STAND_INS, "WP05": _wp05_actions(meta_run_id=other)}).run()
    wp06 = report.step("WP06")

    assert wp06 is not None
    assert wp06.status is StepStatus.STOPPED
    assert wp06.facts["missing_or_unsupported"] == "executor_runs"
    assert f"WP05 cites Actions run {RUN_IDS[2]}, its metadata is run 15000000999" in wp06.reason
    with github.lock:
        assert not [c for c in github.state.issue(E2E_REPO, 41).comments if c.author == "gate-bot"]


def test_malformed_actions_metadata_stops_wp06_naming_the_file_and_is_recorded_in_the_attestation(
    github: GitHubEmulator, evidence_root: Path
) -> None:
    """Run 3's metadata has no id: WP06 stops (failed) naming the file and $.id; the attestation says so; verify clean."""
    gate = make_gate(github, evidence_root, steps={**STAND_INS, "WP05": _wp05_actions(broken_meta=3)})
    report = gate.run()
    wp06 = report.step("WP06")

    assert wp06 is not None
    assert wp06.status is StepStatus.STOPPED
    assert "rc16-attempt1/runs/run-3.actions.json" in wp06.reason
    assert "$.id: expected the workflow run id, got None" in wp06.reason
    statement, _ = read_statement(gate.run_dir / ATTESTATION_NAME)
    run3 = next(r for r in statement["predicate"]["canary_runs"] if r["run_number"] == 3)
    assert "executor_run" not in run3
    assert "$.id: expected the workflow run id" in run3["executor_run_error"]
    assert verify_run(gate.run_dir).ok
