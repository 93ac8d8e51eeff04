"""The pre-proof verdict of one commit for one blocker (:func:`audit_fix_substance`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NotRequired, TypedDict

from attrs import evolve

from phase4gate.checks.fix_substance.classify import classify_file
from phase4gate.checks.fix_substance.focus import (
    _non_function_symbols,
    _observations_differ,
    _symbol_in_focus,
    module_name,
    parse_closes,
)
from phase4gate.checks.fix_substance.model import (
    AuditOptions,
    ChangedSymbol,
    Classification,
    FileChange,
    FileKind,
    FileReport,
    Focus,
    Verdict,
)
from phase4gate.checks.fix_substance.references import _referenced_names, changed_test_ids


class _Shared(TypedDict):
    """The fields every verdict of one audit shares; the later ones once the audit has found them."""

    files: tuple[FileReport, ...]
    changed_symbols: tuple[ChangedSymbol, ...]
    closes: tuple[int, ...]
    focus: Focus
    focus_callers: tuple[str, ...]
    outside_focus: NotRequired[tuple[str, ...]]
    restore_paths: NotRequired[tuple[str, ...]]
    restore_symbols: NotRequired[tuple[str, ...]]


def _with_focus(sym: ChangedSymbol, in_focus: bool) -> ChangedSymbol:
    if sym.in_focus is in_focus:
        return sym
    return ChangedSymbol(sym.path, sym.qualname, sym.change, sym.start, sym.end, sym.behavioural, in_focus)


def audit_fix_substance(  # noqa: PLR0913 - the audit's inputs
    changes: Sequence[FileChange],
    *,
    message: str = "",
    focus: Focus = Focus(),  # noqa: B008 - frozen value
    callers: Sequence[str] = (),
    options: AuditOptions = AuditOptions(),  # noqa: B008 - frozen value
    focus_applies: bool = True,
    reports: Sequence[FileReport] | None = None,
) -> Classification:
    """Classify a commit for one blocker and decide the verdict before the proof.

    ``callers`` (from :func:`find_callers`) widens the focus to the direct
    callers of its symbols.  ``focus_applies=False`` (a sibling repository where
    none of the focus exists) judges the whole commit and says so.
    ``reports`` are :func:`classify_file`'s results for *changes*, when the
    caller computed them already (e.g. on several cores).

    Raises:
        ValueError: *reports* does not match *changes*.
    """
    closes = parse_closes(message)
    notes: list[str] = []
    use_focus = focus if focus_applies else Focus()
    if not focus_applies and not focus.empty:
        notes.append("the configured focus does not exist in this repository; the whole commit is judged")
    caller_set = frozenset(callers)
    focus_files = set(use_focus.files)
    classified = list(reports) if reports is not None else [classify_file(ch, options) for ch in changes]
    if len(classified) != len(changes):
        msg = f"{len(classified)} file reports for {len(changes)} changed files"
        raise ValueError(msg)
    reports_out: list[FileReport] = []
    # Focus symbols narrow a focus file: only they, their callers and the file's module-level and
    # class-body code count; its other functions belong to another issue (a squash's other fix).
    narrow = bool(use_focus.symbols)
    outside_symbols: list[str] = []
    focus_only_observes: dict[str, bool] = {}
    for ch, rep in zip(changes, classified, strict=True):
        in_file = use_focus.empty or ch.path in focus_files or (ch.old_path or "") in focus_files
        whole_file = in_file and (not narrow or not rep.symbols)
        top = _non_function_symbols(ch) if in_file and narrow else frozenset()
        syms = tuple(
            _with_focus(s, whole_file or s.qualname in top or _symbol_in_focus(s, use_focus, caller_set))
            for s in rep.symbols
        )
        file_in = whole_file or any(s.in_focus for s in syms)
        if file_in and not whole_file and rep.kind is FileKind.BEHAVIOURAL:
            outside_symbols.extend(f"{s.path}:{s.qualname}" for s in syms if s.behavioural and not s.in_focus)
            focus_only_observes[rep.path] = _observations_differ(ch, [s.qualname for s in syms if s.in_focus], options)
        reports_out.append(evolve(rep, in_focus=file_in, symbols=syms))
    reports = reports_out
    if len(closes) > 1 and use_focus.empty:
        notes.append(f"the message closes {', '.join(f'#{n}' for n in closes)}: this verdict covers the whole commit")
    all_symbols = tuple(s for r in reports for s in r.symbols)
    base: _Shared = {
        "files": tuple(reports),
        "changed_symbols": all_symbols,
        "closes": closes,
        "focus": use_focus,
        "focus_callers": tuple(callers),
    }
    bad = [r for r in reports if r.kind is FileKind.UNPARSEABLE]
    if bad:
        reason = "; ".join(r.error or r.path for r in bad)
        return Classification(Verdict.UNPARSEABLE, reason, notes=tuple(notes), **base)

    def counts(r: FileReport) -> bool:
        return use_focus.empty or r.in_focus

    behavioural_kinds = {FileKind.BEHAVIOURAL, FileKind.NOT_ANALYSED}
    scope = [r for r in reports if r.kind is not FileKind.TEST and counts(r)]
    outside = tuple(r.path for r in reports if r.kind in behavioural_kinds and not counts(r)) + tuple(outside_symbols)
    behavioural: list[FileReport] = []
    # A behavioural focus file whose focus part changed only by logging or docs counts as that.
    focus_kinds: dict[str, FileKind] = {}
    for r in scope:
        if r.kind is FileKind.NOT_ANALYSED:
            behavioural.append(r)
        elif r.kind is FileKind.BEHAVIOURAL:
            in_syms = [s for s in r.symbols if s.behavioural and (use_focus.empty or s.in_focus)]
            whole_focus_file = (
                r.path in focus_files or (r.old_path or "") in focus_files
            ) and r.path not in focus_only_observes
            if in_syms or whole_focus_file or use_focus.empty:
                behavioural.append(r)
            else:
                observes = focus_only_observes.get(r.path, False)
                focus_kinds[r.path] = FileKind.LOGGING_ONLY if observes else FileKind.DOCS_ONLY
    base["outside_focus"] = outside
    where = "the whole commit" if use_focus.empty else "the focus"
    if not behavioural:
        scope = [evolve(r, kind=focus_kinds.get(r.path, r.kind)) for r in scope]
        scope = [r for r in scope if r.kind is not FileKind.BEHAVIOURAL]
        kinds = {r.kind for r in scope}
        if FileKind.LOGGING_ONLY in kinds:
            verdict, reason = (
                Verdict.LOGGING_ONLY,
                f"{where} changed only by logging: "
                + ", ".join(r.path for r in scope if r.kind is FileKind.LOGGING_ONLY),
            )
        elif FileKind.DOCS_ONLY in kinds:
            verdict, reason = Verdict.DOCS_ONLY, f"{where} changed only in docs: " + ", ".join(r.path for r in scope)
        else:
            verdict, reason = Verdict.FOCUS_UNTOUCHED, f"no source change in {where}"
        if outside:
            reason += f"; behavioural changes outside the focus: {', '.join(outside)}"
        return Classification(verdict, reason, notes=tuple(notes), **base)
    # Only the focus's own changes: a squash's other behavioural change in a focus file is not this blocker's.
    changed = [s for r in behavioural for s in r.symbols if s.behavioural and s.in_focus]
    names = {s.name for s in changed if s.qualname != "<module>"}
    # A module-level, added, moved or unanalysed change is referenced by importing its module.
    whole = [
        r
        for r in behavioural
        if any(s.qualname == "<module>" and s.behavioural for s in r.symbols)
        or r.kind is FileKind.NOT_ANALYSED
        or r.status in {"added", "renamed"}
    ]
    names |= {module_name(r.path).rsplit(".", 1)[-1] for r in whole} | {module_name(r.path) for r in whole}
    restore = tuple(r.path for r in behavioural if r.kind is FileKind.BEHAVIOURAL)
    tests = [
        (ch, r) for ch, r in zip(changes, reports, strict=True) if r.kind is FileKind.TEST and ch.after is not None
    ]
    base["restore_paths"] = restore
    base["restore_symbols"] = tuple(f"{s.path}:{s.qualname}" for s in changed)
    described = ", ".join(sorted({f"{s.path}:{s.qualname}" for s in changed})) or ", ".join(r.path for r in behavioural)
    if not tests:
        return Classification(
            Verdict.NO_TEST,
            f"behavioural change in {described} but no test added or changed",
            notes=tuple(notes),
            **base,
        )
    referencing: list[str] = []
    for ch, _r in tests:
        hit = sorted(names & _referenced_names(ch.after or ""))
        if hit:
            referencing.append(f"{ch.path}: {', '.join(hit)}")
    if not referencing:
        return Classification(
            Verdict.TEST_NOT_REFERENCING,
            f"tests changed ({', '.join(ch.path for ch, _ in tests)}) but none references {', '.join(sorted(names))}",
            notes=tuple(notes),
            **base,
        )
    ids = tuple(i for ch, _ in tests for i in changed_test_ids(ch))
    return Classification(
        Verdict.SUBSTANTIVE,
        f"behavioural change in {described}; referenced by {'; '.join(referencing)}",
        referencing_tests=tuple(referencing),
        test_ids=ids,
        notes=tuple(notes),
        **base,
    )
