#!/usr/bin/env bash
# clickpulse run: follows a growing file, answers /health and queries through
# its API (read-only), and stops cleanly on SIGTERM, leaving silver exact.
set -euo pipefail
source "$(dirname "$0")/net.sh"
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
free_ports 20 port
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if "${@:2}"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
api_auth() { echo "Authorization: Bearer $(cat "$1/dashboard.token")"; }
q() { "$bin" query --wait 60000 --set data_dir="$tmp/data" --format csv "$1" | tail -n +2; }
wait_for() { for _ in $(seq 300); do if eval "$1"; then return 0; fi; sleep 0.1; done; return 1; }
# "NICE POLICY" of process $1's thread named $2 (/proc: the nice value whatever the scheduling
# class; policy 0 the normal one, 5 the idle class)
sched_of() {
  local t
  for t in /proc/"$1"/task/*; do
    [ "$(cat "$t/comm" 2> /dev/null)" = "$2" ] || continue
    sed 's/^.*) //' "$t/stat" | awk '{print $17, $39}'
  done
}

"$bin" simulate --customers 1500 --days 3 --seed 9 --out "$tmp/sim" --quiet
total=$(wc -l < "$tmp/sim/events.jsonl")
head -n $(( total / 2 )) "$tmp/sim/events.jsonl" > "$tmp/follow.jsonl"
"$bin" run --set data_dir="$tmp/data" --set dashboard.listen=127.0.0.1:$port \
  --set sources.files="$tmp/follow.jsonl" --set logging.level=warn 2>"$tmp/run.log" &
pid=$!
check "health answers" wait_for "curl -sf http://127.0.0.1:$port/health | grep -q '\"status\":\"ok\"'"
check "pid file" wait_for "[ -f '$tmp/data/clickpulse.pid' ]" # written once the API listens
# the daemon's background work yields to its servers: silver's writer background.nice (10) lower
# (and in the idle class while it keeps up)
base=$(ps -o ni= -p $pid | tr -d ' ')
check "the daemon's silver writer at background.nice" \
  wait_for "sched_of $pid 'silver writer' | grep -Eq '^$((base + 10)) (0|5)\$'"
check "first half ingested" wait_for "[ \"\$(q 'SELECT count(*) > 0 FROM events')\" = true ]"
tail -n +$(( total / 2 + 1 )) "$tmp/sim/events.jsonl" >> "$tmp/follow.jsonl"
events=$(python3 -c "import json;print(json.load(open('$tmp/sim/truth.json'))['totals']['events'])")
check "appended half ingested" wait_for "[ \"\$(q 'SELECT count(*) FROM events')\" = $events ]"
check "query through the API" test "$(q 'SELECT count(DISTINCT message_id) FROM events')" = "$events"
check "writes refused" bash -c "! '$bin' query --set data_dir='$tmp/data' 'DELETE FROM events' 2>'$tmp/err'"
check "writes refused message" grep -q "only read-only statements" "$tmp/err"
check "api errors are JSON" test "$(curl -s -o /dev/null -w '%{http_code}' -H "$(api_auth "$tmp/data")" -X POST http://127.0.0.1:$port/api/v1/query -d 'SELEC 1')" = 400
check "unknown endpoint" test "$(curl -s -o /dev/null -w '%{http_code}' -H "$(api_auth "$tmp/data")" http://127.0.0.1:$port/api/v1/nope)" = 404
kill -TERM $pid
check "clean exit" wait $pid
pid=
check "pid file removed" test ! -f "$tmp/data/clickpulse.pid"
check "silver = truth" python3 "$here/silver_vs_truth.py" "$bin" "$tmp/data" "$tmp/sim/truth.json"

# Any other command waits for its silver writer: it runs at the command's own priority.
mkfifo "$tmp/fifo"
"$bin" ingest --quiet --set data_dir="$tmp/d2" - < "$tmp/fifo" &
ingest=$!
exec 3> "$tmp/fifo"
check "ingest's silver writer is there" wait_for "[ -n \"\$(sched_of $ingest 'silver writer')\" ]"
check "  at the command's nice and class, not the background's ($(sched_of $ingest 'silver writer'))" \
  test "$(sched_of $ingest 'silver writer')" = "$(ps -o ni= -p $ingest | tr -d ' ') 0"
head -100 "$tmp/sim/events.jsonl" >&3
exec 3>&-
check "  and ingests" wait $ingest

# A dashboard token guards the API.
"$bin" run --set data_dir="$tmp/data" --set dashboard.listen=127.0.0.1:$port --set dashboard.token=s3cret \
  --set logging.level=warn 2>>"$tmp/run.log" &
pid=$!
check "health without token" wait_for "curl -sf http://127.0.0.1:$port/health >/dev/null"
check "401 without token" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:$port/api/v1/query -d 'SELECT 1')" = 401
check "token opens it" test "$(curl -s -H 'Authorization: Bearer s3cret' -X POST "http://127.0.0.1:$port/api/v1/query?format=csv" -d 'SELECT 41+1 AS x')" = "$(printf 'x\n42')"
check "query uses the configured token" test "$("$bin" query --set data_dir="$tmp/data" --set dashboard.token=s3cret --format csv 'SELECT 7 AS y' | tail -1)" = 7
check "query --wait 0 answers at once" test "$("$bin" query --wait 0 --set data_dir="$tmp/data" --set dashboard.token=s3cret --format csv 'SELECT 8 AS y' | tail -1)" = 8
rc=0; "$bin" query --wait 60001 --set data_dir="$tmp/data" --set dashboard.token=s3cret 'SELECT 1' 2> "$tmp/wait.err" || rc=$?
check "query --wait beyond 60 s: a usage error that says the range" grep -q "^clickpulse query: --wait: expected milliseconds from 0 to 60000, got '60001'" "$tmp/wait.err"
check "query --wait beyond 60 s: exit status 2" test $rc = 2
kill -TERM $pid; wait $pid || true; pid=
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
