"""WP04/WP05/WP07 on the sandbox GitHub Actions runner through the real engine: dispatch, follow, collect."""

from __future__ import annotations

import hashlib
import io
import json

from phase4gate.gate import Gate
from phase4gate.models import StepStatus
from phase4gate.progress import Progress
from phase4gate.verify import verify_run

from .conftest import RC_VERSION, ActionsHarness, canary_dispatches


def test_wp04_wp05_green_on_actions(harness: ActionsHarness) -> None:
    """WP04 (1 run) and WP05 (4 runs) pass as five dispatched runs, each cited by run id and URL."""
    before = len(canary_dispatches(harness))
    gate, report = harness.gate("WP05")
    wp04, wp05 = report.step("WP04"), report.step("WP05")
    assert wp04 is not None and wp05 is not None
    assert (wp04.status, wp05.status) == (StepStatus.PASSED, StepStatus.PASSED), (wp04.reason, wp05.reason)
    dispatched = canary_dispatches(harness)[before:]
    assert [c.rsplit("-", 1)[0] for c in dispatched] == [
        f"{gate.run_id}-WP04-1",
        *(f"{gate.run_id}-WP05-{n}" for n in range(1, 5)),
    ]
    ids = str(wp05.facts["executor_run_ids"]).split(",")
    urls = str(wp05.facts["executor_run_urls"]).split(",")
    assert len(ids) == len(set(ids)) == 4
    assert [u.rsplit("/", 1)[-1] for u in urls] == ids
    assert str(wp04.facts["executor_run_ids"]) not in ids
    attempt = gate.run_dir / "rc16-attempt1"
    for k, run_id in enumerate(ids, 1):
        meta = json.loads((attempt / "runs" / f"run-{k}.actions.json").read_text())
        assert str(meta["id"]) == run_id
        assert meta["run_attempt"] == 1
        assert meta["event"] == "workflow_dispatch"
        assert meta["conclusion"] == "success"
        assert meta["correlation_id"].rsplit("-", 1)[0] == f"{gate.run_id}-WP05-{k}"
        for key in (
            "run_number",
            "html_url",
            "head_sha",
            "head_branch",
            "actor",
            "triggering_actor",
            "created_at",
            "run_started_at",
            "updated_at",
        ):
            assert meta[key], key
        assert meta["jobs"] and meta["jobs"][0]["runner_name"]
        assert [s["name"] for s in meta["jobs"][0]["steps"]]
        zip_bytes = (attempt / "runs" / f"run-{k}.artifact.zip").read_bytes()
        assert meta["artifact"]["sha256"] == "sha256:" + hashlib.sha256(zip_bytes).hexdigest()
        assert meta["artifact"]["digest"] == meta["artifact"]["sha256"]
        assert meta["artifact"]["digest_check"] == "match"
        assert (attempt / "runs" / f"run-{k}.logs.zip").stat().st_size > 0
        doc = json.loads((attempt / "runs" / f"run-{k}.json").read_text())
        assert doc["outcome"] == "pass"
        assert doc["cli_version"] == f"spec-kitty-cli version {RC_VERSION}"
    assert (attempt / "latest.json").read_bytes() == (attempt / "runs" / "run-4.json").read_bytes()
    findings = verify_run(gate.run_dir)
    assert findings.ok, findings.render()
    # The signed artifact and log URLs were never sent the Authorization header.
    with harness.world.github.lock:
        fetches = list(harness.actions.blob_fetches)
    assert fetches
    assert not any(f.authorization for f in fetches)
    assert all(f.status == 200 for f in fetches)


def test_progress_lines_name_status_step_and_url(harness: ActionsHarness) -> None:
    """The progress shows the run's status, its job and current step, and its URL; the journal has the run id."""
    sink = io.StringIO()
    gate = Gate(
        harness.config(),
        evidence_root=harness.evidence_root,
        environ=harness.environ(),
        steps=harness.stand_ins(),
        progress=Progress(sink, tty=False),
    )
    report = gate.run(until="WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None and wp04.status is StepStatus.PASSED, wp04.reason if wp04 else None
    text = sink.getvalue()
    run_id = str(wp04.facts["executor_run_ids"])
    assert f"dispatched GitHub Actions run {run_id}" in text
    assert "in_progress; job identity-boundary-canary: in_progress, step" in text
    assert f"/actions/runs/{run_id}" in text
    journal = (gate.run_dir / "journal.jsonl").read_text()
    states = [
        json.loads(line)["actions"]["state"]
        for line in journal.splitlines()
        if '"actions"' in line and json.loads(line).get("event") == "wp-action"
    ]
    assert states == ["dispatching", "dispatched", "closed"]
    closed = next(json.loads(line)["actions"] for line in journal.splitlines() if '"state": "closed"' in line)
    # The requests the run cost, journalled for the bench: the contract's minimum, 304s apart.
    requests = closed["requests"]
    assert (requests["dispatch"], requests["artifacts"], requests["download"], requests["download_blob"]) == (
        1,
        1,
        1,
        1,
    )
    assert requests["run"] >= 1
    assert requests["jobs"] >= 1


def test_dry_run_dispatches_nothing(harness: ActionsHarness) -> None:
    """A dry run says what it would dispatch and dispatches nothing."""
    before = len(canary_dispatches(harness))
    gate = Gate(
        harness.config(),
        evidence_root=harness.evidence_root,
        environ=harness.environ(),
        steps=harness.stand_ins(),
        dry_run=True,
    )
    report = gate.run(until="WP05")
    wp05 = report.step("WP05")
    assert wp05 is not None and wp05.status is StepStatus.PASSED, wp05.reason if wp05 else None
    assert "would dispatch identity-boundary-canary.yml at 'main'" in wp05.reason
    assert "4 time(s)" in wp05.reason
    assert len(canary_dispatches(harness)) == before
