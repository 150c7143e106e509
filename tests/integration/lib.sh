# Shared by the integration tests (sourced, with the binary as $1): strict mode, a
# temporary directory removed at exit (after the test's own at_exit, e.g. to stop
# servers), check NAME COMMAND… counting what passed, and finish for the verdict.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/net.sh"
bin=$1
tmp=$(mktemp -d)
at_exit() { :; }
trap 'at_exit; rm -rf "$tmp"' EXIT
# a command that fails outside check ends the test: say where
trap 'echo "stopped: line $LINENO of $0 failed: $BASH_COMMAND" >&2' ERR
pass=0; fail=0
check() { if "${@:2}"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; }

# The header that opens a daemon's API: its dashboard token, made at start-up in DATA_DIR.
api_auth() {
  wait_file "$1/dashboard.token"
  echo "Authorization: Bearer $(cat "$1/dashboard.token")"
}
