#!/usr/bin/env bash
# Connection floods on real sockets: 1,250 idle connections to the collector (more than
# select(2) can watch) are capped per address, cut at the whole-request deadline, and
# meanwhile the dashboard, and the collector from another address, answer /health in
# under 100 ms (the median of five probes); connections sending a header line a second (slow-loris) are cut at the
# deadline all the same; a flood of the dashboard port leaves the collector and other
# addresses served.
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
ulimit -n 8192
free_ports 4 port; col=http://127.0.0.1:$port; api=http://127.0.0.1:$((port + 1))
"$bin" run --set data_dir="$tmp/data" --set collector.listen=127.0.0.1:$port \
  --set dashboard.listen=127.0.0.1:$((port + 1)) --set collector.write_keys=wk=web \
  --set collector.request_timeout=2s --set collector.max_connections=1500 \
  --set collector.max_connections_per_address=1200 --set dashboard.request_timeout=2s \
  --set dashboard.max_connections=64 --set dashboard.max_connections_per_address=32 \
  --set logging.level=error 2> "$tmp/run.log" &
pid=$!
at_exit() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
wait_up "$col/health" "$pid"
wait_up "$api/health" "$pid"
# fast JSON I: the I-th /health probe answered in under 100 ms — the median of five probes;
# the slowest under a second (one scheduler hiccup on busy cores is not the flood's doing)
fast() { python3 -c "import json,sys; h=json.loads(sys.argv[1])['health'][int(sys.argv[2])]; sys.exit(not (h['median_ms'] < 100 and h['worst_ms'] < 1000))" "$1" "$2"; }
# field NAME JSON: a value of the flood's report
field() { python3 -c "import json,sys; d=json.loads(sys.argv[2]); print(eval(sys.argv[1], {}, d))" "$1" "$2"; }

# --- idle connections to the collector ---
r=$(python3 "$here/flood.py" idle $port 1250 8 --health "$api/health" --health "$col/health,127.0.0.2")
echo "idle collector flood: $r"
check "1,250 idle opened" test "$(field opened "$r")" = 1250
check "  past 1,200 from one address refused at once" test "$(field closed_at_once "$r")" = 50
check "  the dashboard answers /health meanwhile" test "$(field 'health[0]["status"]' "$r")" = "[200, 200, 200, 200, 200]"
check "  in under 100 ms" fast "$r" 0
check "  the collector answers another address" test "$(field 'health[1]["status"]' "$r")" = "[200, 200, 200, 200, 200]"
check "  in under 100 ms" fast "$r" 1
check "  every idle connection closed" test "$(field closed "$r")" = 1250
check "  at the 2 s deadline, not before" python3 -c "import sys; sys.exit(not 1.9 <= $(field first_cut "$r") and $(field last_cut "$r") <= 4)"
check "the dashboard did not log dropped connections" bash -c "! grep -q FD_SETSIZE '$tmp/run.log'"

# --- slow headers: a line a second, never the end of the head ---
r=$(python3 "$here/flood.py" slow $port 300 8 --health "$api/health")
echo "slow-header collector flood: $r"
check "300 slow-header connections all cut" test "$(field closed "$r")" = 300
check "  at the 2 s deadline though bytes kept coming" python3 -c "import sys; sys.exit(not 1.9 <= $(field first_cut "$r") and $(field last_cut "$r") <= 4)"
check "  the dashboard answers in under 100 ms meanwhile" fast "$r" 0
r=$(python3 "$here/flood.py" slow $((port + 1)) 20 8)
check "slow headers to the dashboard cut at its deadline too" python3 -c "import sys; sys.exit(not ($(field closed "$r") == 20 and 1.9 <= $(field first_cut "$r") and $(field last_cut "$r") <= 4))"

# --- idle connections to the dashboard ---
r=$(python3 "$here/flood.py" idle $((port + 1)) 100 8 --health "$col/health" --health "$api/health,127.0.0.2")
echo "idle dashboard flood: $r"
check "past 32 from one address refused at once" test "$(field closed_at_once "$r")" = 68
check "  the collector answers /health meanwhile" test "$(field 'health[0]["status"]' "$r")" = "[200, 200, 200, 200, 200]"
check "  in under 100 ms" fast "$r" 0
check "  the dashboard answers another address" test "$(field 'health[1]["status"]' "$r")" = "[200, 200, 200, 200, 200]"
check "  in under 100 ms" fast "$r" 1
check "  the held ones cut at the deadline" python3 -c "import sys; sys.exit(not ($(field closed "$r") == 100 and $(field last_cut "$r") <= 4))"

# --- served as before once the floods are over ---
check "an event is taken after the floods" test "$(curl -s -u wk: -d '{"event":"After","userId":"u1"}' "$col/v1/track")" = '{"success":true}'
check "keep-alive requests within the deadline are served" \
  test "$(curl -s -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' "$col/health" "$col/health")" = '200:1 200:0 '
finish
