"""WP06 and WP08 inside the real engine, against the GitHub emulator."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from phase4gate.adapters.store import reserve_attempt, verify_tree
from phase4gate.checks.comments import E2E_HEADING, TRACKER_HEADING, parse_marker
from phase4gate.config import CommentsConfig, CommentTarget
from phase4gate.gate import Step, StepContext
from phase4gate.models import FactValue, StepOutcome, StepStatus, StopKind
from phase4gate.progress import Progress
from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO
from tests.integration.comments.gate_world import FACTS, FLY_IMAGE, STAND_INS, gate_config, make_gate, run_file

E2E_ISSUE = f"/api/v3/repos/{E2E_REPO}/issues/41"
TRACKER_ISSUE = f"/api/v3/repos/{CLI_REPO}/issues/1038"


def our_comments(github: GitHubEmulator, repo: str, number: int) -> list[str]:
    with github.lock:
        return [
            c.body for c in github.state.issue(repo, number).comments if c.author == "gate-bot" and parse_marker(c.body)
        ]


def closes(github: GitHubEmulator, repo: str, number: int) -> int:
    with github.lock:
        return sum(1 for e in github.state.issue(repo, number).events if e.event == "closed")


def assert_final_state(github: GitHubEmulator) -> None:
    e2e = our_comments(github, E2E_REPO, 41)
    tracker = our_comments(github, CLI_REPO, 1038)
    assert len(e2e) == 1
    assert len(tracker) == 1
    assert e2e[0].startswith(f"## {E2E_HEADING}")
    assert tracker[0].startswith(f"## {TRACKER_HEADING}")
    with github.lock:
        assert github.state.issue(E2E_REPO, 41).state == "closed"
        assert github.state.issue(E2E_REPO, 41).state_reason == "completed"
        assert github.state.issue(CLI_REPO, 1038).state == "open"
    assert closes(github, E2E_REPO, 41) == 1
    assert closes(github, CLI_REPO, 1038) == 0


def test_gate_twice_gives_one_comment_per_issue(github: GitHubEmulator, evidence_root: Path) -> None:
    """Two full gate runs: one comment on each issue, e2e#41 closed once, #1038 open."""
    first = make_gate(github, evidence_root).run()
    second = make_gate(github, evidence_root).run()

    assert first.verdict is StepStatus.PASSED, [s.reason for s in first.steps]
    assert second.verdict is StepStatus.PASSED, [s.reason for s in second.steps]
    assert_final_state(github)
    wp06, wp08 = first.step("WP06"), first.step("WP08")
    assert wp06 is not None
    assert wp08 is not None
    assert wp06.facts["e2e_state"] == "closed"
    assert wp06.facts["e2e_comment_action"] == "create"
    assert wp08.facts["tracker_state"] == "open"
    assert wp08.facts["tracker_comment_action"] == "create"
    again = second.step("WP06")
    assert again is not None
    # The second run's evidence is a new attempt folder: the comment is updated, not duplicated.
    assert again.facts["e2e_comment_id"] == wp06.facts["e2e_comment_id"]
    assert again.facts["e2e_comment_action"] == "update"
    assert again.facts["e2e_close_sent"] is False
    assert "rc16-attempt2/runs/run-4.json" in our_comments(github, E2E_REPO, 41)[0]


def test_evidence_of_wp06_and_wp08(github: GitHubEmulator, evidence_root: Path) -> None:
    """The bundle, both bodies and the publish records are write-once evidence that verifies."""
    gate = make_gate(github, evidence_root)
    report = gate.run()
    wp06, wp08 = report.step("WP06"), report.step("WP08")
    assert wp06 is not None
    assert wp08 is not None

    paths = {ref.path for ref in (*wp06.evidence, *wp08.evidence)}
    assert {"wp06/1/rc16-attempt1.tar.gz", "wp06/1/e2e-41-comment.md", "wp08/1/issue-1038-comment.md"} <= paths
    assert wp06.facts["bundle_path"] == "wp06/1/rc16-attempt1.tar.gz"
    bundle_sha = wp06.facts["bundle_sha256"]
    body = (gate.run_dir / "wp08/1/issue-1038-comment.md").read_text(encoding="utf-8")
    assert f"sha256 `{bundle_sha}`" in body
    assert FLY_IMAGE in body
    assert str(wp06.facts["e2e_comment_url"]) in body
    assert our_comments(github, CLI_REPO, 1038) == [body]
    verified = verify_tree(gate.run_dir)
    assert (verified.altered, verified.missing) == ((), ())
    assert verified.checked >= 10


def test_missing_fly_image_stops_wp06_naming_the_config_key(github: GitHubEmulator, evidence_root: Path) -> None:
    """No placeholder: without saas.fly_image WP06 stops (failed) and nothing is written to GitHub."""
    report = make_gate(github, evidence_root, config=gate_config(github, fly_image=None)).run()
    wp06 = report.step("WP06")

    assert wp06 is not None
    assert wp06.status is StepStatus.STOPPED
    assert wp06.stop_kind is StopKind.FAILED
    assert "saas.fly_image" in wp06.reason
    assert wp06.facts["missing_or_unsupported"] == "fly_image"
    assert github.writes() == []
    assert report.exit_code == 1


@pytest.mark.parametrize(
    ("prefix", "method"),
    [
        (f"{E2E_ISSUE}/comments", "POST"),
        (E2E_ISSUE, "PATCH"),
        (f"{TRACKER_ISSUE}/comments", "POST"),
        (f"{TRACKER_ISSUE}/comments", "GET"),
    ],
)
def test_fault_at_each_write_then_resume_converges(
    github: GitHubEmulator, evidence_root: Path, prefix: str, method: str
) -> None:
    """A 502 at a write stops the gate (could not decide); resuming ends in the same single state."""
    github.inject(prefix, Fault("status", status=502), method=method)
    first = make_gate(github, evidence_root).run()
    assert first.exit_code == 3, [s.reason for s in first.steps]

    second = make_gate(github, evidence_root, resume=first.run_id).run()

    assert second.verdict is StepStatus.PASSED, [s.reason for s in second.steps]
    assert_final_state(github)


def test_tracker_closed_by_someone_stops_wp08(github: GitHubEmulator, evidence_root: Path) -> None:
    """#1038 must be open after posting; if it is not, WP08 stops (failed) and never re-closes it."""
    with github.lock:
        github.state.issue(CLI_REPO, 1038).state = "closed"
    report = make_gate(github, evidence_root).run()
    wp08 = report.step("WP08")

    assert wp08 is not None
    assert wp08.status is StepStatus.STOPPED
    assert wp08.stop_kind is StopKind.FAILED
    assert "must stay open" in wp08.reason
    assert wp08.facts["tracker_state"] == "closed"
    assert not any(r.method == "PATCH" and r.path == TRACKER_ISSUE for r in github.writes())


def test_planted_marker_on_tracker_is_left_alone(github: GitHubEmulator, evidence_root: Path) -> None:
    """Someone copies our marker onto #1038 first: their comment is untouched and ours is posted."""
    marker = "<!-- phase4gate:comment gate=phase4-canary-gate-01KS1W46 issue=Priivacy-ai/spec-kitty#1038 "
    planted = f"fake evidence\n{marker}bundle-sha256={'e' * 64} -->\n"
    with github.lock:
        mallory = github.state.add_comment(github.state.issue(CLI_REPO, 1038), "mallory", planted)
    report = make_gate(github, evidence_root).run()
    wp08 = report.step("WP08")

    assert wp08 is not None
    assert wp08.status is StepStatus.PASSED
    assert wp08.facts["tracker_foreign_marker_comments"] == str(mallory.id)
    assert mallory.body == planted
    assert len(our_comments(github, CLI_REPO, 1038)) == 1


def test_dry_run_makes_no_request(
    github: GitHubEmulator, evidence_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dry run renders both bodies, describes each call, and sends nothing.

    The bodies reach stderr through the gate's progress (never a write to stderr from WP06 itself).
    """
    report = make_gate(github, evidence_root, dry_run=True, progress=Progress(tty=False)).run()
    assert f"## {E2E_HEADING}" in capsys.readouterr().err
    wp06 = report.step("WP06")

    assert wp06 is not None
    assert wp06.reason.startswith("dry run:")
    wp08 = report.step("WP08")
    assert wp08 is not None
    assert wp08.status is StepStatus.PASSED
    assert wp08.reason.startswith("dry run:")
    assert github.requests == []
    assert our_comments(github, E2E_REPO, 41) == []


def _wp05_with(*, failed_run: int | None = None, attempt_fact: bool = True) -> Step:
    def run(ctx: StepContext) -> StepOutcome:
        attempt = reserve_attempt(ctx.evidence_root, ctx.store.root, "rc16")
        for n in (1, 2, 3, 4):
            data = run_file(n, failed_scenario=4 if n == failed_run else None)
            ctx.store.write_text(f"{attempt}/runs/run-{n}.json", json.dumps(data))
        files = ",".join(f"{attempt}/runs/run-{n}.json" for n in (1, 2, 3, 4)) + ","
        facts: dict[str, FactValue] = {"run_files": files, "runs_passed": 4}
        if attempt_fact:
            facts["attempt_dir"] = attempt
        return StepOutcome.passed("stand-in claiming 4/4", facts=facts)

    return run


def test_failed_run_file_refuses_the_four_of_four_comment(github: GitHubEmulator, evidence_root: Path) -> None:
    """WP05 says 4/4 but run 3's file failed: WP06 stops (failed) and posts nothing."""
    report = make_gate(github, evidence_root, steps={**STAND_INS, "WP05": _wp05_with(failed_run=3)}).run()
    wp06 = report.step("WP06")

    assert wp06 is not None
    assert wp06.stop_kind is StopKind.FAILED
    assert "run 3" in wp06.reason
    assert github.writes() == []


def test_missing_attempt_folder_fact_is_named(github: GitHubEmulator, evidence_root: Path) -> None:
    report = make_gate(github, evidence_root, steps={**STAND_INS, "WP05": _wp05_with(attempt_fact=False)}).run()
    wp06 = report.step("WP06")

    assert wp06 is not None
    assert wp06.stop_kind is StopKind.FAILED
    assert "attempt_dir" in wp06.reason
    assert github.writes() == []


def test_teamspace_claim_unsupported_refuses_the_tracker_comment(github: GitHubEmulator, evidence_root: Path) -> None:
    """WP07 recorded 3 of 4: the #1038 body cannot say 4/4; WP08 stops and #1038 gets nothing."""

    def wp07(_ctx: StepContext) -> StepOutcome:
        facts: dict[str, FactValue] = {**FACTS["WP07"], "teamspace_runs_passed": 3}
        return StepOutcome.passed("stand-in", facts=facts)

    report = make_gate(github, evidence_root, steps={**STAND_INS, "WP07": wp07}).run()
    wp08 = report.step("WP08")

    assert wp08 is not None
    assert wp08.stop_kind is StopKind.FAILED
    assert "3 of 4 Teamspace runs passed" in wp08.reason
    assert wp08.facts["missing_or_unsupported"] == "teamspace_runs_passed"
    assert our_comments(github, CLI_REPO, 1038) == []


def test_e2e_not_closed_when_configured_so(github: GitHubEmulator, evidence_root: Path) -> None:
    """close = false on the e2e target: the comment is posted and read back, the issue stays open."""
    base = gate_config(github)
    config = attrs.evolve(base, comments=CommentsConfig(e2e=CommentTarget(number=41), min_write_interval_seconds=0))
    report = make_gate(github, evidence_root, config=config).run()
    wp06 = report.step("WP06")

    assert wp06 is not None
    assert wp06.facts["e2e_state"] == "open"
    # The #1038 body says e2e#41 is now closed: not true here, so WP08 refuses.
    wp08 = report.step("WP08")
    assert wp08 is not None
    assert wp08.stop_kind is StopKind.FAILED
    assert "now closed" in wp08.reason


def test_duplicates_are_reported_in_the_reason(github: GitHubEmulator, evidence_root: Path) -> None:
    """Two of our comments already on each issue: oldest kept and updated, the other named in the report."""
    first = make_gate(github, evidence_root).run()
    assert first.exit_code == 0
    with github.lock:
        for repo, number in ((E2E_REPO, 41), (CLI_REPO, 1038)):
            issue = github.state.issue(repo, number)
            body = next(c.body for c in issue.comments if c.author == "gate-bot")
            github.state.add_comment(issue, "gate-bot", body, at="2030-01-01T00:00:00Z")

    second = make_gate(github, evidence_root).run()

    for wp in ("WP06", "WP08"):
        step = second.step(wp)
        assert step is not None
        assert "duplicate comments by us left in place" in step.reason
    assert closes(github, E2E_REPO, 41) == 1


def test_dry_run_of_wp08_after_a_real_wp06(
    github: GitHubEmulator, evidence_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Resume a run that stopped after WP07 with --dry-run --only WP08: the body is rendered, nothing is sent."""
    first = make_gate(github, evidence_root).run(until="WP07")
    before = len(github.writes())

    report = make_gate(github, evidence_root, resume=first.run_id, dry_run=True, progress=Progress(tty=False)).run(
        only="WP08"
    )

    wp08 = report.step("WP08")
    assert wp08 is not None
    assert wp08.reason.startswith("dry run:")
    assert len(github.writes()) == before
    assert f"## {TRACKER_HEADING}" in capsys.readouterr().err


def test_run_files_relative_to_the_attempt_folder_are_read(tmp_path: Path) -> None:
    """WP05's run_files may name paths inside the attempt folder; missing files name their path."""
    from phase4gate.comment_facts import load_run_rows
    from phase4gate.errors import InputError

    runs = tmp_path / "rc16-attempt1" / "runs"
    runs.mkdir(parents=True)
    (runs / "run-1.json").write_text(json.dumps(run_file(1)), encoding="utf-8")

    rows = load_run_rows(tmp_path, "rc16-attempt1", "runs/run-1.json, ")

    assert [r.path for r in rows] == ["rc16-attempt1/runs/run-1.json"]
    with pytest.raises(InputError, match=r"run-2\.json: file not found"):
        load_run_rows(tmp_path, "rc16-attempt1", "rc16-attempt1/runs/run-2.json")


@pytest.mark.parametrize(("wp", "prefix"), [("WP06", f"{E2E_ISSUE}/comments"), ("WP08", f"{TRACKER_ISSUE}/comments")])
def test_wp06_and_wp08_take_their_github_client_from_the_context(
    github: GitHubEmulator, evidence_root: Path, wp: str, prefix: str
) -> None:
    """The step's client is ``ctx.clients.github``: a 503 with Retry-After is waited out through the injected sleep."""
    import importlib

    from phase4gate.clients import Clients

    delays: list[float] = []
    config = attrs.evolve(gate_config(github), github=attrs.evolve(gate_config(github).github, max_retries=2))
    real: Step = importlib.import_module(f"phase4gate.steps.{wp.lower()}").run

    def with_recording_clients(ctx: StepContext) -> StepOutcome:
        ctx.clients = Clients(ctx.config, ctx.environ, sleep=delays.append, clock=lambda: 100.0, epoch=lambda: 1e9)
        return real(ctx)

    github.inject(prefix, Fault("status", status=503, headers={"Retry-After": "2"}), method="GET")
    report = make_gate(github, evidence_root, config=config, steps={**STAND_INS, wp: with_recording_clients}).run()

    step = report.step(wp)
    assert step is not None
    assert step.status is StepStatus.PASSED, step.reason
    assert 2.0 in delays
    assert_final_state(github)


@pytest.mark.parametrize(
    ("repo", "number", "named"), [(E2E_REPO, 41, "e2e-41-comment.md"), (CLI_REPO, 1038, "issue-1038-comment.md")]
)
def test_evidence_a_comment_names_is_durable_before_github_sees_the_comment(
    github: GitHubEmulator, evidence_root: Path, repo: str, number: int, named: str
) -> None:
    """When the comment reaches GitHub, the evidence it names is flushed: no write intent of the batch is left.

    The store drops a batch's intents only once its folder entries and manifest lines are
    fsync'd; an intent still there while GitHub already shows the comment means a power
    loss could lose the names the posted comment cites.
    """
    seen: list[list[str]] = []

    def observe(_request: object) -> None:
        run_dirs = [p for p in evidence_root.iterdir() if p.is_dir()]
        seen.append(sorted(p.name for d in run_dirs for p in d.glob(".intent-*")))
        written = [p for d in run_dirs for p in d.rglob(named)]
        assert written, f"{named} is not written before the comment is posted"

    github.inject(f"/api/v3/repos/{repo}/issues/{number}/comments", Fault("observe", observe=observe), method="POST")
    report = make_gate(github, evidence_root).run()
    assert report.verdict is StepStatus.PASSED, [(s.wp, s.reason) for s in report.steps]
    assert seen == [[]]
