#!/usr/bin/env bash
# The lake (lake.dir): two daemons, each following its own file, publish silver into one
# shared directory; every event is there once, in a file named by its instance and log
# range, the day from the path; kill -9 of one mid-stream and a restart lose nothing and
# add nothing twice; the daemon's read-only SQL may read the lake and nothing else.
source "$(dirname "$0")/lib.sh"
free_ports 20 port
declare -A pid
at_exit() { for p in "${pid[@]}"; do kill -9 "$p" 2> /dev/null || true; done; }

start() { # start NAME PORT
  "$bin" run --set data_dir="$tmp/$1" --set collector.listen=127.0.0.1:$2 \
    --set dashboard.listen=127.0.0.1:$(($2 + 1)) --set sources.files="$tmp/$1.jsonl" \
    --set lake.dir="$tmp/lake" --set lake.instance="shop_$1" --set lake.interval=500ms --set sinks.poll=200ms \
    --set logging.level=error 2>> "$tmp/$1.log" &
  pid[$1]=$!
  wait_up "http://127.0.0.1:$(($2 + 1))/health" "${pid[$1]}" || { cat "$tmp/$1.log" >&2; return 1; }
}
q() { # q NAME PORT SQL: through the daemon's API, once silver holds what it took in
  "$bin" query --wait 60000 --set data_dir="$tmp/$1" --set dashboard.listen=127.0.0.1:$(($2 + 1)) \
    --format csv "$3" | tail -n +2
}
lake_events="read_parquet('$tmp/lake/events/*/*.parquet', hive_partitioning = true, filename = true)"
published() { sed -n 's/^next //p' "$tmp/lake/_published/shop_$1" 2> /dev/null || true; }
applied() { q "$1" "$2" "SELECT position FROM checkpoints WHERE name = 'log'"; }
# the instance's silver, all of it published
caught_up() { [ -n "$(published "$1")" ] && [ "$(published "$1")" = "$(applied "$1" "$2")" ]; }

"$bin" simulate --customers 400 --days 4 --seed 21 --out "$tmp/sim" --outputs events --quiet
total=$(wc -l < "$tmp/sim/events.jsonl")
half=$((total / 2))
head -n $((half / 2)) "$tmp/sim/events.jsonl" > "$tmp/a.jsonl"
sed -n "$((half + 1)),\$p" "$tmp/sim/events.jsonl" > "$tmp/b.jsonl"
start a $port
start b $((port + 10))
check "instance a published what its silver holds" wait_for 60 caught_up a $port
check "instance b published what its silver holds" wait_for 60 caught_up b $((port + 10))

# kill -9 of a while its file grows and it publishes; then back
sed -n "$((half / 2 + 1)),${half}p" "$tmp/sim/events.jsonl" >> "$tmp/a.jsonl"
grew() { [ "$(published a)" -gt "$1" ]; }
check "instance a publishes the rest as it comes" wait_for 60 grew "$(published a)"
kill -9 "${pid[a]}"
wait "${pid[a]}" 2> /dev/null || true
start a $port
check "instance a, restarted, published everything" wait_for 60 caught_up a $port

silver_a=$(q a $port "SELECT count(*) FROM events")
silver_b=$(q b $((port + 10)) "SELECT count(*) FROM events")
check "both files in silver ($silver_a + $silver_b events)" test $((silver_a + silver_b)) -gt $((total * 9 / 10))
counts=$(q a $port "SELECT count(*) || ' ' || count(DISTINCT (split_part(parse_filename(filename), '-', 1), \"offset\")) || ' ' || count(DISTINCT message_id) FROM $lake_events")
echo "lake: rows, distinct (instance, offset), distinct message ids: $counts; silver a $silver_a, b $silver_b" >&2
check "the lake holds every event of both once ($counts)" \
  test "$counts" = "$((silver_a + silver_b)) $((silver_a + silver_b)) $((silver_a + silver_b))"
differ() { # rows of NAME's silver not in its files of the lake, and the other way round
  q "$1" "$2" "SELECT (SELECT count(*) FROM (SELECT * FROM events EXCEPT ALL SELECT * EXCLUDE (dt, filename) FROM $lake_events WHERE parse_filename(filename) LIKE 'shop_$1-%'))
    + (SELECT count(*) FROM (SELECT * EXCLUDE (dt, filename) FROM $lake_events WHERE parse_filename(filename) LIKE 'shop_$1-%' EXCEPT ALL SELECT * FROM events))"
}
check "instance a's files are its silver, row for row" test "$(differ a $port)" = 0
check "instance b's files are its silver, row for row" test "$(differ b $((port + 10)))" = 0
check "each row under the day of its event" \
  test "$(q a $port "SELECT count(*) FROM $lake_events WHERE dt <> event_date")" = 0
names=$(q a $port "SELECT count(*) FROM $lake_events WHERE NOT regexp_matches(parse_filename(filename), '^shop_[ab]-[0-9]+-[0-9]+-[0-9]+\.parquet\$')")
check "files named instance-first-last-i" test "$names" = 0
orders_lake=$(q a $port "SELECT count(*) FROM read_parquet('$tmp/lake/orders/*/*.parquet')")
orders=$(( $(q a $port "SELECT count(*) FROM orders") + $(q b $((port + 10)) "SELECT count(*) FROM orders") ))
check "orders too ($orders_lake of $orders)" test "$orders_lake" = "$orders"
check "no staging left" test -z "$(ls -A "$tmp/lake/_staging" 2> /dev/null)"
# the daemon's SQL reads the lake, and still no other file
secret="$tmp/a/dashboard.token"
check "other files stay out of reach" bash -c "! '$bin' query --set data_dir='$tmp/a' --set dashboard.listen=127.0.0.1:$((port + 1)) \"SELECT * FROM read_text('$secret')\" > /dev/null 2>&1"

for n in a b; do kill "${pid[$n]}"; done
finish
