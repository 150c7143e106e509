#!/usr/bin/env bash
# clickpulse jobs: the built-in jobs run by hand on a data directory (models builds
# the gold layer, history records it); a failing job is retried with backoff and its
# history shows the attempts; with the daemon running, 'jobs run' starts the job
# there and /api/v1/jobs shows its schedule and last run.
set -euo pipefail
source "$(dirname "$0")/net.sh"
bin=$1
tmp=$(mktemp -d)
free_ports 20 port
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if "${@:2}"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
api_auth() { echo "Authorization: Bearer $(cat "$1/dashboard.token")"; }
cp_() { "$bin" "$@" --set data_dir="$tmp/data" --set dashboard.listen=127.0.0.1:$((port + 1)); }

"$bin" simulate --customers 300 --days 3 --seed 5 --out "$tmp/sim" --outputs events --quiet
cp_ ingest --quiet "$tmp/sim/events.jsonl"
check "list" test "$(cp_ jobs list | awk 'NR > 1 {print $1 "@" $NF}' | tr '\n' ' ')" = "sessions@600s models@600s tests@600s retention@600s "
check "run models here" cp_ jobs run models
check "the gold layer is there" test "$(cp_ query --format csv "SELECT count(*) > 0 FROM gold.daily_sales_summary" | tail -1)" = true
check "history: ok, one attempt, sixteen models" test "$(cp_ query --format csv "SELECT status, attempts, rows FROM job_runs WHERE job = 'models'" | tail -1)" = "ok,1,16"
check "jobs history prints it" grep -q "models.*ok" <(cp_ jobs history models)

# A failing job: retried with backoff, every attempt in the history.
mkdir -p "$tmp/models"
echo "SELECT no_such_column FROM {{ source('silver', 'events') }}" > "$tmp/models/broken.sql"
t0=$(date +%s%N)
set +e; cp_ jobs run models --set models.dir="$tmp/models" --set jobs.retries=2 --set jobs.backoff=200ms 2> "$tmp/fail.err"; code=$?; set -e
elapsed=$(( ($(date +%s%N) - t0) / 1000000 ))
check "failing job: exit 1" test "$code" = 1
check "it names the model" grep -q "broken" "$tmp/fail.err"
check "three attempts recorded" test "$(cp_ query --format csv "SELECT status, attempts FROM job_runs WHERE job = 'models' ORDER BY started_at DESC LIMIT 1" | tail -1)" = "failed,3"
check "backoff 200 ms then 400 ms (${elapsed} ms)" test "$elapsed" -ge 600

# The daemon: 'jobs run' starts it there; /api/v1/jobs shows schedules and the last run.
"$bin" run --set data_dir="$tmp/data" --set dashboard.listen=127.0.0.1:$((port + 1)) \
  --set collector.listen=127.0.0.1:$port --set logging.level=error 2>"$tmp/run.log" &
pid=$!
wait_up "http://127.0.0.1:$port/health"
check "started by the daemon" grep -q "started by the daemon" <(cp_ jobs run tests)
done_() { curl -s -H "$(api_auth "$tmp/data")" http://127.0.0.1:$((port + 1))/api/v1/jobs | python3 -c "
import json, sys
jobs = {j['name']: j for j in json.load(sys.stdin)}
t = jobs['tests']
sys.exit(0 if t['last'] and t['last']['status'] == 'ok' and jobs['models']['schedule'] == '* * * * *' and jobs['tests']['after'] == 'models' and jobs['models']['next_run'] else 1)"; }
check "the API shows the run and the schedules" wait_for 60 done_
check "unknown job: 404 with a reason" test "$(curl -s -o /dev/null -w '%{http_code}' -H "$(api_auth "$tmp/data")" -X POST http://127.0.0.1:$((port + 1))/api/v1/jobs/nope/run)" = 404
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
