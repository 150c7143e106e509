#!/usr/bin/env bash
# What the daemon leaves on disk is its user's alone: the data directory and every
# directory in it 0700, the log's segments, the database and the token 0600 (a data
# directory made world-readable before is closed at start); a refused statement leaves
# nothing behind: EXPORT DATABASE and COPY into the exports directory create no directory,
# and neither do two statements at once.
source "$(dirname "$0")/lib.sh"
free_ports 4 port; col=http://127.0.0.1:$port; api=http://127.0.0.1:$((port + 1))
start() {
  "$bin" run --set data_dir="$tmp/data" --set collector.listen=127.0.0.1:$port \
    --set dashboard.listen=127.0.0.1:$((port + 1)) --set collector.write_keys=wk=web \
    --set logging.level=error &
  pid=$!
  wait_up "$col/health" "$pid"
}
at_exit() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
umask 022 # as a shell usually has it
start
auth=$(api_auth "$tmp/data")
check "an event taken" test "$(curl -s -u wk: -d '{"event":"E","userId":"u1"}' "$col/v1/track")" = '{"success":true}'
check "the data directory is 0700" test "$(stat -c %a "$tmp/data")" = 700
check "every directory in it is 0700" test -z "$(find "$tmp/data" -type d ! -perm 700)"
check "every file in it is 0600" test -z "$(find "$tmp/data" -type f ! -perm 600)"
check "  the log's segments among them" test -n "$(find "$tmp/data/log" -name '*.jsonl.zst' -perm 600)"
check "  the database" test "$(stat -c %a "$tmp/data/clickpulse.duckdb")" = 600
code() { curl -s -o "$tmp/body" -w '%{http_code}' -H "$auth" "$@"; }
exports=$tmp/data/exports
for stmt in "EXPORT DATABASE '$exports/x'" "COPY events TO '$exports/y' (FORMAT parquet, PARTITION_BY (source))" \
    "EXPLAIN EXPORT DATABASE '$exports/z'" "SELECT 1; EXPORT DATABASE '$exports/w'" "/* c */ (EXPORT DATABASE '$exports/v')"; do
  check "refused: $stmt" test "$(code --data-binary "$stmt" "$api/api/v1/query")" = 400
done
check "  and no directory made" test -z "$(ls -A "$exports" 2>/dev/null)"
check "reading statements still pass: WITH, FROM, VALUES, EXPLAIN SELECT" \
  test "$(for s in 'WITH t AS (SELECT 1 AS a) SELECT a FROM t' 'FROM range(1)' 'VALUES (1)' 'EXPLAIN SELECT 1' '-- c
SELECT 1'; do code --data-binary "$s" "$api/api/v1/query"; done)" = 200200200200200
kill "$pid"; wait "$pid" 2>/dev/null || true
chmod 755 "$tmp/data"
start
check "a data directory open to others is closed at start" test "$(stat -c %a "$tmp/data")" = 700
finish
