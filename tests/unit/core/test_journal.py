"""The journal module: chain, torn tails, run state; the comment marker's journal head."""

from __future__ import annotations

import json

import pytest

from phase4gate.checks.comments import parse_marker, render_marker
from phase4gate.errors import InputError
from phase4gate.journal import GENESIS, chain_problems, line_digest, parse_journal, run_state


def chained(*events: dict[str, object]) -> list[str]:
    prev, out = GENESIS, []
    for e in events:
        line = json.dumps({**e, "prev": prev}, sort_keys=True)
        out.append(line)
        prev = line_digest(line)
    return out


def test_chain_holds_and_breaks_at_the_edited_line() -> None:
    """An untouched chain has no problem; editing line 2 breaks it at line 3."""
    lines = chained({"event": "gate-start"}, {"event": "wp-start", "wp": "WP01"}, {"event": "gate-end"})
    assert chain_problems(lines) == []
    lines[1] = lines[1].replace("WP01", "WP02")
    (problem,) = chain_problems(lines, source="j")
    assert problem.startswith("j: line 3: hash chain broken")


def test_unchained_line_is_named() -> None:
    """A line without prev is named by number."""
    lines = [*chained({"event": "gate-start"}), json.dumps({"event": "gate-end"})]
    assert chain_problems(lines) == [
        "journal.jsonl: line 2: not hash-chained (no 'prev'): a line was inserted or the journal rewritten"
    ]


def test_torn_tail_is_set_aside_and_bad_bytes_named() -> None:
    """A tail without newline is torn (not an error); a non-UTF-8 line is an error naming the line."""
    journal = parse_journal(b'{"a": 1}\n{"b": 2}\n{"c"', source="j")
    assert journal.lines == ('{"a": 1}', '{"b": 2}')
    assert journal.torn_bytes == 4
    assert journal.torn_note is not None
    assert "line 3: torn last line (4 bytes" in journal.torn_note
    with pytest.raises(InputError, match=r"j: line 2: not UTF-8 \(byte 2 of the line\)"):
        parse_journal(b'{"a": 1}\n{\xff}\n', source="j")


def test_run_state_of_a_finished_run_and_a_killed_one() -> None:
    """gate-end ends an invocation; a later gate-start with wp-start and no end is a killed run."""
    done = chained({"event": "gate-start"}, {"event": "wp-start", "wp": "WP01"}, {"event": "gate-end"})
    assert not run_state(done).interrupted
    killed = [*done, *chained({"event": "gate-start"}, {"event": "wp-start", "wp": "WP06"})]
    killed += chained({"event": "wp-action", "wp": "WP06", "action": "posted comment u"})
    state = run_state(killed)
    assert state.interrupted
    assert state.how == "killed"
    assert state.in_progress == ("WP06",)
    assert state.actions == {"WP06": ("posted comment u",)}
    assert state.exit_code is None


def test_marker_carries_the_journal_head() -> None:
    """The hidden marker round-trips the journal head; a marker without one still parses."""
    head = "sha256:" + "ab" * 32
    marker = parse_marker(f"body\n{render_marker('g', 'o/r#41', 'c' * 64, head)}\n")
    assert marker is not None
    assert marker.journal_head == head
    assert marker.bundle_sha256 == "c" * 64
    old = parse_marker(render_marker("g", "o/r#41", "c" * 64))
    assert old is not None
    assert old.journal_head is None
