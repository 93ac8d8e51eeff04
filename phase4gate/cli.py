"""The ``phase4gate`` command line: argparse, one error handler, lazy imports.

Only ``argparse``, ``sys`` and ``errors`` are imported at the top so ``--help``
starts fast; each subcommand imports what it needs inside its function.  Each
subcommand lives in ``phase4gate/commands/<name>.py`` with ``add_arguments`` and
``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys

from phase4gate.errors import ExitCode, Phase4GateError

# Not `from typing import ...`: typing costs `--help` a few ms (pypa/build's idiom; mypy knows the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Final

__all__ = ["COMMANDS", "build_parser", "entry", "main"]

_WP_HELP: Final = """\
work packages (each stops the gate at its stop condition; "waiting" = a precondition is
not met yet, "failed" = evidence against the release or the fix):
  WP01  blockers #1141 and #1182 CLOSED as completed by a substantive, test-backed fix
        stops: a blocker open (waiting); closed without a fix, logging-only, no proving test (failed)
  WP02  newest RC after baseline 3.2.0rc15, containing the fixes, installed and verified
        stops: no newer RC or RC lacks a fix (waiting); install broken / dependency drift (failed)
  WP03  read-only SaaS preflight: /health/, /health/ready/, drain counts 0 and exactly 22
        stops: not ready (waiting); counts off (failed)            [runs beside WP02]
  WP04  one canary run: 4 scenarios pass          stops: any scenario fails (re-opens its blocker)
  WP05  four consecutive runs: 16/16 cells pass   stops: any run fails; SaaS redeployed (waiting)
  WP06  evidence bundled; e2e#41 commented, then closed
  WP07  Teamspace MVP suite four times, logs kept stops: any run fails (triaged from its log)
  WP08  spec-kitty#1038 commented; never closed

exit codes: 0 passed, 1 stopped at a stop condition, 2 usage or configuration error,
            3 could not decide (infrastructure), 70 internal error, 130 SIGINT, 143 SIGTERM
"""

# 128 + SIGINT, 128 + SIGTERM: the exits of a gate stopped by a signal.
_INTERRUPTED_CODES: Final = frozenset({130, 143})

# (name, module under phase4gate.commands, one-line help)
COMMANDS: Final = (
    ("run", "run", "run the gate (all WPs, or --until/--only), writing evidence and a report"),
    ("wp", "wp", "run one work package (its dependencies must have passed in the run)"),
    ("status", "status", "show a run's report (default: the latest run), or list runs"),
    ("verify", "verify", "recompute every evidence hash of a run; report altered, missing, extra"),
    ("history", "history", "every run folder per release candidate: stops, canary matrix, signatures, cleared RC"),
    ("render-comment", "render_comment", "print the exact Markdown of the e2e#41, #1038 or history comment"),
    ("config", "config", "show the effective configuration"),
    ("audit-fix", "audit_fix", "audit one fix commit: behavioural or logging-only, proven by a test"),
    ("resolve-rc", "resolve_rc", "find the newest release candidate after a baseline on the index"),
    ("sandbox", "sandbox", "run the local sandbox world (GitHub, index and SaaS emulators)"),
    ("demo", "demo", "run the whole gate on the sandbox, green or ending on a chosen stop"),
)


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="gate configuration TOML (default: ./gate.toml if present, else built-in defaults)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON on stdout"
    )
    common.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="log more (repeat for debug)"
    )
    return common


def _command_in(argv: Sequence[str]) -> str:
    """Return the subcommand *argv* names ("" if none): the first word that is one, skipping ``--config``'s value."""
    names = {name for name, _, _ in COMMANDS}
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--config":
            skip = True
        elif word in names:
            return word
    return ""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Return the parser; with *only*, only that subcommand's module is imported (the others get their help line).

    ``main`` passes the subcommand named on the command line, so ``--help`` imports
    no subcommand module and ``resolve-rc`` imports only its own.
    """
    common = _common()
    parser = argparse.ArgumentParser(
        prog="phase4gate",
        description="Run the Phase 4 auth identity-boundary canary gate end to end and keep evidence.",
        epilog=_WP_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="store_true", help="print phase4gate's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in COMMANDS:
        if only is not None and name != only:
            sub.add_parser(name, help=help_text, add_help=False).set_defaults(_module=module)
            continue
        mod = importlib.import_module(f"phase4gate.commands.{module}")
        p = sub.add_parser(
            name,
            help=help_text,
            description=getattr(mod, "DESCRIPTION", help_text),
            epilog=getattr(mod, "EPILOG", None),
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


@contextlib.contextmanager
def _handle_errors() -> Iterator[list[int]]:
    """Turn exceptions into an ``error:``/``hint:`` on stderr and an exit code."""
    code: list[int] = []
    try:
        yield code
    except Phase4GateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        code.append(int(exc.exit_code))
    except BrokenPipeError:
        # `phase4gate status | head`: the reader left; nothing more to say, and no traceback.
        import os  # noqa: PLC0415

        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code.append(128 + 13)  # as a process killed by SIGPIPE
    except KeyboardInterrupt as exc:
        # A gate stopped by SIGINT/SIGTERM carries 128 + the signal (130, 143).
        name = getattr(exc, "signal_name", "SIGINT")
        print(f"error: interrupted ({name}); the journal records where the gate stopped", file=sys.stderr)
        print("hint: resume with `phase4gate run --resume latest`", file=sys.stderr)
        code.append(int(getattr(exc, "exit_code", ExitCode.INTERRUPTED)))
    except Exception:  # noqa: BLE001 - the one place a bug becomes exit 70
        import traceback  # noqa: PLC0415

        from phase4gate.errors import redact  # noqa: PLC0415

        print(redact(traceback.format_exc()), file=sys.stderr, end="")
        print("error: internal error (a bug in phase4gate); the traceback is above", file=sys.stderr)
        code.append(int(ExitCode.INTERNAL))


def _configure_logging(verbosity: int) -> None:
    import logging  # noqa: PLC0415

    from phase4gate.errors import redact  # noqa: PLC0415

    class _Redacting(logging.Filter):
        """Mask credentials in every record (urllib3's debug lines carry full URLs, signed-URL ``sig=`` too)."""

        def filter(self, record: logging.LogRecord) -> bool:
            record.msg, record.args = redact(record.getMessage()), None
            return True

    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_Redacting())
    logging.basicConfig(level=level, handlers=[handler])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with *argv* (default ``sys.argv[1:]``) and return the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=_command_in(words))
    try:
        args = parser.parse_args(words)
    except SystemExit as exc:  # argparse: --help is 0, a usage error 2
        return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.USAGE)
    if getattr(args, "version", False):
        from importlib.metadata import version  # noqa: PLC0415

        print(f"phase4gate {version('phase4gate')}")
        return int(ExitCode.PASSED)
    if not getattr(args, "_module", None):
        parser.print_help(sys.stderr)
        return int(ExitCode.USAGE)
    for attr, default in (("json", False), ("config", None), ("verbose", 0)):
        if not hasattr(args, attr):
            setattr(args, attr, default)
    with _handle_errors() as code:
        mod = importlib.import_module(f"phase4gate.commands.{args._module}")  # noqa: SLF001
        # A command whose path imports no logging at all (resolve-rc: pinned by
        # tests/integration/core/test_startup_imports.py) skips configuring it unless -v asks.
        if args.verbose or getattr(mod, "LOGS", True):
            _configure_logging(args.verbose)
        code.append(int(mod.run(args)))
    return code[0]


def entry() -> None:
    """Console-script entry point."""
    code = main()
    if code in _INTERRUPTED_CODES:
        # A step abandoned after a stop must not hold the exit (interpreter shutdown joins worker threads).
        import os  # noqa: PLC0415

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
