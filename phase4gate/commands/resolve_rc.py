"""``phase4gate resolve-rc``: the newest release candidate after a baseline, alone."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Find the newest pre-release of a series strictly newer than a baseline on the
package index (one request; PEP 691 JSON, PEP 503 HTML as fallback). Finals,
other series and other pre-release kinds are ignored; yanked files and files
whose requires-python excludes this Python are skipped and listed.

exit codes: 0 found (the version is printed), 1 nothing newer than the baseline,
            2 usage error, 3 the index could not be read

examples:
  phase4gate resolve-rc spec-kitty-cli --baseline 3.2.0rc15
  phase4gate resolve-rc spec-kitty-cli --baseline 3.2.0rc15 --series 3.2.0 --json
"""


# Nothing on this command's path logs (it does not even import logging): the CLI leaves logging
# unconfigured unless -v is given (about 5% of the command's run, issue 23).
LOGS = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``resolve-rc``'s options."""
    parser.add_argument("package", metavar="PACKAGE", help="the project on the index, e.g. spec-kitty-cli")
    parser.add_argument("--baseline", required=True, metavar="V", help="the RC to beat, e.g. 3.2.0rc15")
    parser.add_argument("--series", metavar="S", help="the release series (default: the baseline's, e.g. 3.2.0)")
    parser.add_argument(
        "--index-url",
        metavar="U",
        help="simple index URL (default: release.index_url, PIP_INDEX_URL, UV_INDEX_URL, else pip's default)",
    )


def run(args: argparse.Namespace) -> int:
    """Resolve and print; 0 found, 1 none newer.

    Raises:
        UsageError: the baseline or series is not a version.
        PackageIndexError: the index could not be read.
    """
    import json  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from phase4gate.adapters.http_transport import StdlibTransport  # noqa: PLC0415
    from phase4gate.adapters.index import fetch_project, index_client, resolve_index_url  # noqa: PLC0415
    from phase4gate.checks.release import no_newer_rc_reason, resolve_rc  # noqa: PLC0415
    from phase4gate.errors import ExitCode, UsageError, redact, redact_data  # noqa: PLC0415

    configured = args.index_url
    if configured is None and args.config:
        from phase4gate.commands._common import load_config  # noqa: PLC0415

        configured = load_config(args).release.index_url
    index_url = resolve_index_url(configured)
    # One GET in this process: the standard library's http.client, not urllib3 (its import is
    # ~40% of the command; same policy, same answers: ``phase4gate.adapters.http_transport``).
    page = fetch_project(index_url, args.package, client=index_client(transport=StdlibTransport))
    python = ".".join(str(p) for p in sys.version_info[:3])
    try:
        resolution = resolve_rc(page.files, args.baseline, args.series, package=args.package, python_version=python)
    except ValueError as exc:
        raise UsageError(str(exc), hint="--baseline like 3.2.0rc15, --series like 3.2.0") from None
    if args.json:
        data = resolution.to_json()
        data["index_url"] = index_url
        # File URLs are joined to the index URL: its credentials would show in every one of them.
        print(json.dumps(redact_data(data), indent=2, sort_keys=True))
    elif resolution.version is not None:
        print(resolution.version)
    else:
        print(redact(no_newer_rc_reason(resolution)), file=sys.stderr)
    return ExitCode.PASSED if resolution.version is not None else ExitCode.STOPPED
