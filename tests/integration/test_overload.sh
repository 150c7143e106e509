#!/usr/bin/env bash
# Overload: wrk drives the collector with batches of 100 events on 64 connections for a
# minute — far more than it can take — against a small backlog limit. The excess gets
# 429 with Retry-After (at least as many requests as were taken: the offer is at least
# twice the capacity), memory stays under the bound the daemon derives from its settings
# (clickpulse_memory_bound_bytes: the sum of docs/security.md's parts, each set small
# here, the live view's to its least: the flood's users and products pass it), and silver
# holds the events of every request answered 200, each request whole — and of no other
# request but those still in flight when wrk stopped (sent, their answer not read).
# Silver's writer is taken out of the idle scheduling class by the load (the backlog
# reaches half the bound) and is back in it once caught up. The dedup window is held to
# 4 MB, so most messageIds are looked up on disk, with the same exactness.
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
free_ports 20 port; api=$((port + 1))
# under AddressSanitizer (scripts/check-sanitized) its quarantine and shadow memory come on top
sanitizer_mb=0
[ -n "${ASAN_OPTIONS:-}" ] && sanitizer_mb=512
"$bin" run --set data_dir="$tmp/data" --set collector.listen=127.0.0.1:$port \
  --set dashboard.listen=127.0.0.1:$api --set collector.write_keys=k --set collector.max_backlog=5000 \
  --set store.memory_limit=256MB --set pipeline.dedup_memory=4MB --set pipeline.live_memory=64KB \
  --set pipeline.queue_memory=64MB --set collector.max_connections=128 \
  --set dashboard.max_connections=16 --set dashboard.query_max_bytes=8MB \
  --set jobs.models.schedule= --set jobs.sessions.schedule= \
  --set logging.level=error 2> "$tmp/run.log" &
pid=$!
at_exit() { kill -9 $pid 2> /dev/null || true; }
wait_up "http://127.0.0.1:$port/health"

# resident memory every 250 ms while the load runs, and the queue's memory every second
( while kill -0 $pid 2> /dev/null && [ ! -e "$tmp/stop" ]; do
    awk '/^VmRSS/ {print $2}' /proc/$pid/status; sleep 0.25
  done > "$tmp/rss" ) &
( while [ ! -e "$tmp/stop" ]; do
    curl -s -m 2 http://127.0.0.1:$port/metrics | awk '$1 == "clickpulse_queue_bytes" {print $2}'
    sleep 1
  done > "$tmp/queue" ) &
queue_sampler=$!
sampler=$!
# a broken body every half second meanwhile: while overloaded it is answered 429 (retry
# later: nothing of it is looked at), else 400
( while [ ! -e "$tmp/stop" ]; do
    curl -s -u k: -H 'Content-Type: application/json' --data-binary '{"batch":[{"type":"track"' \
      -o "$tmp/broken.body" -w '%{http_code} ' "http://127.0.0.1:$port/v1/batch"
    tr -d '\n' < "$tmp/broken.body"; echo; sleep 0.5
  done > "$tmp/broken" ) &
broken=$!
seconds=${CP_OVERLOAD_SECONDS:-60}
wrk -t2 -c64 -d${seconds}s --timeout 30s -s "$here/overload/batch.lua" "http://127.0.0.1:$port/v1/batch" > "$tmp/wrk" 2>&1
touch "$tmp/stop"; wait $sampler $broken $queue_sampler
result=$(sed -n 's/^RESULT //p' "$tmp/wrk")
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$result" "$1"; }
ok=$(field ok) busy=$(field busy) other=$(field other) inflight=$(( $(field sent) - $(field ok) - $(field busy) - $(field other) ))
echo "answers: 200: $ok, 429: $busy, other: $other; in flight at the end: $inflight"
check "every answer is 200 or 429" test "$other" = 0
check "requests were taken all along ($ok)" test "$ok" -gt "$((seconds * 10))"
check "the excess got 429: at least as many as were taken ($busy >= $ok)" test "$busy" -ge "$ok"
check "  each with Retry-After: 1" test "$(field no_retry)" = 0
busy_broken=$(grep -c '^429 {"success":false,"reason":"overloaded",' "$tmp/broken" || true)
bad_broken=$(grep -c '^400 {"success":false,"reason":"not_json",' "$tmp/broken" || true)
echo "broken bodies: $(wc -l < "$tmp/broken"), 429: $busy_broken, 400: $bad_broken"
check "a broken body got 429 while overloaded ($busy_broken)" test "$busy_broken" -ge 1
check "  and 400 otherwise: no other answer" test "$((busy_broken + bad_broken))" = "$(wc -l < "$tmp/broken")"
metric() { curl -s http://127.0.0.1:$port/metrics | awk -v m="$1" '$1 == m {print $2}'; }
peak=$(sort -n "$tmp/rss" | tail -1)
bound=$(metric clickpulse_memory_bound_bytes)
echo "peak resident memory: $((peak / 1024)) MB, the settings' bound $((bound >> 20)) MB"
check "memory stayed within the settings' bound (peak $((peak / 1024)) MB of $((bound >> 20)) + $sanitizer_mb MB, $(wc -l < "$tmp/rss") samples)" \
  test "$peak" -le $(( bound / 1024 + sanitizer_mb * 1024 ))
check "  the bound as docs/security.md sums it" test "$bound" = "$(python3 "$here/overload/bound.py" \
  256MB 64MB 4MB 64KB 128 500KB 16 8MB "$(nproc)")"
live=$(metric clickpulse_live_bytes) untracked=$(metric clickpulse_live_untracked_total)
queue=$(sort -n "$tmp/queue" | tail -1)
echo "live view: $live bytes, $untracked events of users with no room for their session"
check "the live view's keys and sessions within pipeline.live_memory ($live bytes)" test "$live" -le 65536
check "  past it: users counted without a live session ($untracked events)" test "$untracked" -gt 0
check "the events held for silver within pipeline.queue_memory, a quarter more for spilled batches, and a batch (at most $queue bytes, $(wc -l < "$tmp/queue") samples)" \
  test "$queue" -le $(( (80 << 20) + (2 << 20) ))

# the dedup window held to 4 MB (91,750 messageIds in memory): past that, the older ones on disk
on_disk=$(curl -s http://127.0.0.1:$port/metrics | awk '$1 == "clickpulse_dedup_cold_total" {print $2}')
accepted=$(curl -s http://127.0.0.1:$port/metrics | awk '$1 == "clickpulse_events_accepted_total" {print $2}')
table=$(curl -s http://127.0.0.1:$port/metrics | awk '$1 == "clickpulse_dedup_bytes" {print $2}')
echo "dedup: $accepted accepted, $on_disk messageIds moved to disk, table $table bytes"
check "the dedup window's table within its 4 MB ($table bytes)" test "$table" -le 4194304
if [ "$accepted" -ge 200000 ]; then
  check "past its 4 MB the dedup window moved messageIds to disk ($on_disk)" test "$on_disk" -gt 0
fi
drained() { [ "$(curl -s http://127.0.0.1:$port/metrics | awk '/^clickpulse_queue_events /{print $2}')" = 0 ]; }
for _ in $(seq 600); do drained && break; sleep 0.1; done
# (clickpulse_queue_events counts no spilled batch: their bytes may still be held)
queue_freed() { [ "$(metric clickpulse_queue_bytes)" = 0 ]; }
check "the queue's memory back to nothing once drained" wait_for 60 queue_freed
raised=$(metric clickpulse_silver_writer_raised_total)
check "silver's writer left the idle class under the load ($raised times)" test "$raised" -ge 1
idle_again() { [ "$(metric clickpulse_silver_writer_idle)" = 1 ]; }
check "  and is back in it, caught up" wait_for 60 idle_again
q() { "$bin" query --wait 60000 --set data_dir="$tmp/data" --set dashboard.listen=127.0.0.1:$api --format csv "$1" | tail -1; }
whole=$(q "SELECT count(*) || ' ' || min(n) || ' ' || max(n) FROM (SELECT count(*) AS n FROM events
  GROUP BY split_part(message_id, '-', 1), split_part(message_id, '-', 2))")
read -r requests fewest most <<< "$whole"
check "silver holds every request answered 200 ($requests >= $ok)" test "$requests" -ge "$ok"
check "  and no other but those in flight at the end ($((requests - ok)) <= $inflight)" test "$((requests - ok))" -le "$inflight"
check "  each request whole (fewest/most events: $fewest/$most)" test "$fewest/$most" = 100/100
check "  and nothing else" test "$(q "SELECT count(*) FROM events")" = "$((requests * 100))"
kill -TERM $pid; wait $pid || true
finish
