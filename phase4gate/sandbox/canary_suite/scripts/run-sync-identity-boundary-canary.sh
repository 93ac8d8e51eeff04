#!/usr/bin/env bash
# Sync identity-boundary canary runner (the sandbox's stand-in for the e2e harness's script).
#
#   run-sync-identity-boundary-canary.sh [--single] [--yes]
#
# No flag: the four-run protocol (stops at the first failing run). --single: one run.
# --yes: no interactive confirmation (needed without a TTY).
# Exit 0 all runs passed; 1 a run failed; 2 preflight failure (environment missing).
# Writes artifacts/sync_identity_boundary/latest.json, runs/run-N.json and <run_id>.json.
set -u

PYTHON="@PYTHON@"
cd "$(dirname "$0")/.." || exit 2

single=0
yes=0
for arg in "$@"; do
  case "$arg" in
    --single) single=1 ;;
    --yes) yes=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "preflight: unknown option: $arg" >&2; exit 2 ;;
  esac
done

if [ "${SPEC_KITTY_ENABLE_SAAS_SYNC:-}" != "1" ]; then
  echo "preflight: SPEC_KITTY_ENABLE_SAAS_SYNC=1 is required" >&2
  exit 2
fi
if [ "${SPEC_KITTY_E2E_TRUSTED_RUNNER:-}" != "1" ]; then
  echo "preflight: SPEC_KITTY_E2E_TRUSTED_RUNNER=1 is required (trusted runner only)" >&2
  exit 2
fi
if [ -z "${SPEC_KITTY_SAAS_URL:-}" ]; then
  echo "preflight: SPEC_KITTY_SAAS_URL is not set" >&2
  exit 2
fi
if ! version_out=$(spec-kitty --version 2>&1); then
  echo "preflight: spec-kitty --version failed: $version_out" >&2
  exit 2
fi
cli_version=$(printf '%s\n' "$version_out" | grep -m1 '^spec-kitty-cli version ')
if [ -z "$cli_version" ]; then
  echo "preflight: spec-kitty --version printed no version line" >&2
  exit 2
fi
if [ "$yes" -ne 1 ]; then
  if [ -t 0 ]; then
    read -r -p "Run the identity-boundary canary against $SPEC_KITTY_SAAS_URL? [y/N] " answer
    [ "$answer" = "y" ] || exit 2
  else
    echo "preflight: no TTY to confirm on; pass --yes" >&2
    exit 2
  fi
fi

runs=4
[ "$single" -eq 1 ] && runs=1
art=artifacts/sync_identity_boundary
mkdir -p "$art/runs"
echo "$cli_version"
status=0
for n in $(seq 1 "$runs"); do
  started=$("$PYTHON" -c 'import datetime; print(datetime.datetime.now(datetime.UTC).isoformat())')
  echo "== run $n of $runs =="
  rm -f "$art/.junit.xml"
  "$PYTHON" -m pytest tests/identity_boundary -m sync_identity_boundary_deployed_dev -v \
    -p no:cacheprovider --junitxml="$art/.junit.xml"
  rc=$?
  "$PYTHON" scripts/canary_report.py --junit "$art/.junit.xml" --run "$n" --started "$started" \
    --out "$art" --cli-version "$cli_version" || exit 3
  if [ "$rc" -ne 0 ]; then
    status=1
    break
  fi
done
exit "$status"
