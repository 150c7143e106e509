#!/usr/bin/env bash
# The Kafka source against librdkafka's mock cluster (clickpulse kafka-mock, on
# loopback): a simulated shop produced with Debian's kcat, keyed by identity, lands
# in silver exactly once; two instances in one group split the 4 partitions and
# together hold every event once; a malformed message becomes a dead letter with
# its topic, partition and offset while consumption goes on; kill -9 of one
# instance mid-stream: the other takes its partitions over and nothing is lost —
# the only events both hold are the killed one's last durable, uncommitted flush,
# which the shared warehouse's upsert by event id removes (docs/kafka.md).
set -euo pipefail
source "$(dirname "$0")/net.sh"
bin=$1
tmp=$(mktemp -d)
free_ports 20 base
pids=()
trap 'for p in "${pids[@]}"; do kill -9 $p 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if "${@:2}"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }

"$bin" kafka-mock --partitions 4 --topics events > "$tmp/bs" &
pids+=($!)
wait_file "$tmp/bs"
bs=$(head -1 "$tmp/bs")

declare -A port pid
start() { # start NAME PORT
  port[$1]=$2
  "$bin" run --set data_dir="$tmp/$1" --set collector.listen=127.0.0.1:$2 \
    --set dashboard.listen=127.0.0.1:$(($2 + 1)) --set kafka.brokers="$bs" --set kafka.group=shop \
    --set kafka.properties=session.timeout.ms=6000,heartbeat.interval.ms=500 \
    --set logging.level=error 2>>"$tmp/$1.log" &
  pid[$1]=$!
  pids+=($!)
  wait_up "http://127.0.0.1:$2/health" "${pid[$1]}" && wait_up "http://127.0.0.1:$(($2 + 1))/health" "${pid[$1]}" ||
    { cat "$tmp/$1.log" >&2; return 1; }
}
q() { "$bin" query --wait 60000 --set data_dir="$tmp/$1" --set dashboard.listen=127.0.0.1:$((${port[$1]} + 1)) --format csv "$2" | tail -n +2; }
partitions() { curl -s http://127.0.0.1:${port[$1]}/metrics | awk '/^clickpulse_kafka_partitions_assigned / {print $2}'; }
# lag known on every assigned partition (a fetch told its high watermark), and zero
caught_up() { local m; m=$(curl -s http://127.0.0.1:${port[$1]}/metrics); echo "$m" | awk -v n="$2" '/^clickpulse_kafka_partitions_assigned / {a = $2} /^clickpulse_kafka_consumer_lag\{/ {c++; s += $2} END {exit !(a == n && c == n && s == 0)}'; }
events() { q "$1" "SELECT count(*) FROM events"; }

# A simulated shop, one event a message keyed by identity, produced by kcat.
"$bin" simulate --customers 150 --days 1 --seed 11 --out "$tmp/sim" --outputs events,truth --quiet
python3 - "$tmp/sim/events.jsonl" > "$tmp/kcat.txt" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="surrogateescape"):
    line = line.rstrip("\n")
    try:
        ev = json.loads(line)
        key = ev.get("anonymousId") or ev.get("userId") or "none"
    except Exception:
        key = "bad"
    print(f"{key}\t{line}")
PY
expected=$(python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['totals']; print(t['events'])" "$tmp/sim/truth.json")
rejected=$(python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['totals']; print(t['rejected'])" "$tmp/sim/truth.json")
kcat -P -b "$bs" -t events -K $'\t' -l "$tmp/kcat.txt"

# Two instances in one group split the partitions; together they hold each event once.
start a $base
start b $((base + 10))
both() { [ $(( $(events a) + $(events b) )) -ge "$expected" ]; }
check "both instances consumed the topic" wait_for 60 both
split_2_2() { [ "$(partitions a) $(partitions b)" = "2 2" ]; }
check "partitions split 2 and 2" wait_for 60 split_2_2
q a "SELECT message_id FROM events" | sort > "$tmp/a1"
q b "SELECT message_id FROM events" | sort > "$tmp/b1"
check "each instance got a share" test -s "$tmp/a1" -a -s "$tmp/b1"
check "together every event exactly once ($(cat "$tmp/a1" "$tmp/b1" | wc -l) of $expected)" \
  test "$(cat "$tmp/a1" "$tmp/b1" | wc -l)" = "$expected" -a "$(sort -u "$tmp/a1" "$tmp/b1" | wc -l)" = "$expected"
# dead letters and duplicates from Kafka: not covered by query --wait, waited for
bad_lines() { [ $(( $(q a "SELECT count(*) FROM dead_letters WHERE source = 'kafka:events'") + $(q b "SELECT count(*) FROM dead_letters WHERE source = 'kafka:events'") )) = "$rejected" ]; }
check "the shop's bad lines are dead letters ($rejected)" wait_for 60 bad_lines
dups_caught() { [ $(( $(q a "SELECT count(*) FROM duplicates") + $(q b "SELECT count(*) FROM duplicates") )) -gt 0 ]; }
check "the shop's duplicate deliveries were caught" wait_for 60 dups_caught

# A malformed message: a dead letter with topic, partition and offset; consumption goes on.
offset=$(kcat -Q -b "$bs" -t events:2:-1 | awk '{print $NF}')
printf '{"type":"track","event":' | kcat -P -b "$bs" -t events -p 2
printf '{"type":"track","event":"After","userId":"after-bad","messageId":"after-bad-1"}' | kcat -P -b "$bs" -t events -p 2
dead() { [ -n "$( (q a "SELECT delivery FROM dead_letters WHERE source='kafka:events' AND delivery='2/$offset' AND reason='not_json' AND raw = '{\"type\":\"track\",\"event\":'::BLOB"; q b "SELECT delivery FROM dead_letters WHERE source='kafka:events' AND delivery='2/$offset' AND reason='not_json' AND raw = '{\"type\":\"track\",\"event\":'::BLOB") )" ]; }
check "malformed message: dead letter kafka:events 2/$offset with its bytes" wait_for 60 dead
after() { [ "$(( $(q a "SELECT count(*) FROM events WHERE message_id='after-bad-1'") + $(q b "SELECT count(*) FROM events WHERE message_id='after-bad-1'") ))" = 1 ]; }
check "the next message on that partition is consumed" wait_for 60 after

# kill -9 one instance mid-stream: the other takes over and nothing is lost.
"$bin" simulate --customers 200 --days 1 --seed 12 --out "$tmp/sim2" --outputs truth --quiet
expected2=$(python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['totals']; print(t['events'])" "$tmp/sim2/truth.json")
had=$(events a) # before the stream starts: all of it is more
"$bin" simulate --customers 200 --days 1 --seed 12 --kafka "$bs" --topic events --rate 2000 --quiet &
producer=$!
more() { [ "$(events a)" -gt "$had" ]; }
check "the instance to be killed consumes the new stream" wait_for 60 more
kill -9 "${pid[a]}"
# a message the producer could not deliver is not the consumers' loss: said apart
check "the producer delivered every message" wait "$producer"
takeover() { caught_up b 4; }
check "the survivor took all 4 partitions and caught up" wait_for 60 takeover
warm() { curl -s http://127.0.0.1:${port[b]}/metrics | awk '/^clickpulse_kafka_warmup_messages_total/ {print $2}'; }
warmed() { [ "$(warm)" -gt 0 ] 2> /dev/null; } # the lag can be nil before the re-read is done
check "the partitions taken over were re-read for their sessions" wait_for 60 warmed
echo "warm-up after the takeover: $(warm) messages" >&2
start a $base # the killed instance comes back: its log brings its silver up to date
total=$(( expected + 1 + expected2 ))
q a "SELECT message_id FROM events ORDER BY \"offset\" DESC" > "$tmp/a2"
q b "SELECT message_id FROM events" | sort > "$tmp/b2"
check "no instance holds an event twice" test "$(wc -l < "$tmp/a2")" = "$(sort -u "$tmp/a2" | wc -l)" -a "$(wc -l < "$tmp/b2")" = "$(sort -u "$tmp/b2" | wc -l)"
union=$(sort -u "$tmp/a2" "$tmp/b2" | wc -l)
check "nothing lost: every event in one instance or the other ($union of $total)" test "$union" = "$total"
shared=$(sort "$tmp/a2" | comm -12 - "$tmp/b2" | wc -l)
# What both hold can only be the killed instance's newest events (its last flush, durable
# in its log but not yet committed to Kafka): the first $shared of its log, newest first.
newest=$(head -n "$shared" "$tmp/a2" | sort | comm -12 - "$tmp/b2" | wc -l)
check "events held by both are only the killed instance's last flush ($shared)" test "$newest" = "$shared" -a "$shared" -le 20000
echo "shared after kill -9: $shared" >&2

for n in a b; do kill "${pid[$n]}"; done
wait "${pid[a]}" "${pid[b]}" 2>/dev/null || true
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
