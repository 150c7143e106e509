#!/usr/bin/env bash
# Faults under a stream of batches at the collector, each on a small filesystem the
# test mounts (in a mount namespace of its own): the bronze log's disk fills up, then
# the database's disk fills up. Each time requests get 503 with the reason rather
# than a 200 for what was not kept, /health and the log say what is wrong, and once
# space is freed the engine recovers by itself; in the end silver holds exactly the
# events of every request answered 200. The log's disk is let fill to the last byte
# (log.min_free=0) — what still fits in the space the log reserved ahead is taken, then
# nothing more; the database's keeps store.min_free, so DuckDB is never asked to
# write onto a full disk. (A sink that is down: test_sinks; a database error of another
# kind: unit/pipeline/test_pipeline.)
if [ -z "${CP_FAULTS_NS:-}" ]; then
  CP_FAULTS_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
data=$tmp/data
mkdir -p "$data"
mount -t tmpfs -o size=48m tmpfs "$data"
mkdir -p "$data/log"
mount -t tmpfs -o size=16m tmpfs "$data/log"
free_ports 20 port; api=$((port + 1))
"$bin" run --set data_dir="$data" --set collector.listen=127.0.0.1:$port --set dashboard.listen=127.0.0.1:$api \
  --set collector.write_keys=k --set dashboard.query_max_rows=10000000 --set log.segment_bytes=1MB --set log.min_free=0 --set store.min_free=8MB \
  2> "$tmp/run.log" &
pid=$!
at_exit() { kill -9 $pid 2> /dev/null || true; wait $pid 2> /dev/null || true; umount "$data/log" "$data" 2> /dev/null || true; }
wait_up "http://127.0.0.1:$port/health" $pid
wait_up "http://127.0.0.1:$api/health" $pid

# send TAG N: N batches of 200 events (about 30 KB each in the log: the padding does not
# compress much), one after the other; prints the answers by status and appends the
# message ids of the batches answered 200 to $tmp/acked
send() {
  python3 - "$port" "$1" "$2" "$tmp/acked" "$tmp/answers" <<'PY'
import base64, http.client, json, random, sys, time
port, tag, n, acked, answers = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
auth = "Basic " + base64.b64encode(b"k:").decode()
codes, reasons, order = {}, set(), []
rng = random.Random(tag)
with open(acked, "a") as out:
    for b in range(n):
        ids = ["%s-%d-%d" % (tag, b, i) for i in range(200)]
        body = json.dumps({"batch": [{"type": "track", "event": "Load", "userId": "u%d" % (i % 17),
                                      "messageId": m, "properties": {"pad": "%0300x" % rng.getrandbits(1200)}}
                                     for i, m in enumerate(ids)]})
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("POST", "/v1/batch", body, {"Authorization": auth, "Content-Type": "application/json"})
        r = c.getresponse(); text = r.read().decode()
        codes[r.status] = codes.get(r.status, 0) + 1
        order.append(r.status)
        if r.status == 200:
            out.write("\n".join(ids) + "\n")
        else:
            reasons.add(json.loads(text).get("message", text))
        time.sleep(0.02)
json.dump({"codes": codes, "reasons": sorted(reasons), "order": order}, open(answers, "w"))
print(" ".join("%s:%d" % kv for kv in sorted(codes.items())))
PY
}
reasons() { python3 -c "import json; print(' | '.join(json.load(open('$tmp/answers'))['reasons']))"; }
# The last send's answers were 200s, then from the first 503 on only 503s, at least $1 of them.
then_refused() {
  python3 -c "
import json, sys
o = json.load(open('$tmp/answers'))['order']
k = o.index(503) if 503 in o else len(o)
sys.exit(0 if set(o[:k]) <= {200} and set(o[k:]) == {503} and len(o) - k >= $1 else 1)"
}
health() { curl -s http://127.0.0.1:$port/health; }
fill() { dd if=/dev/zero of="$1/filler" bs=64k 2> /dev/null || true; }
silver_matches() {
  sort -u "$tmp/acked" > "$tmp/want"
  "$bin" query --wait 60000 --set data_dir="$data" --set dashboard.listen=127.0.0.1:$api --format csv \
    "SELECT message_id FROM events ORDER BY 1" | tail -n +2 | sort > "$tmp/got"
  cmp -s "$tmp/want" "$tmp/got"
}
wait_healthy() { wait_for 60 curl -sf http://127.0.0.1:$port/health -o /dev/null; }
n=0
# The collector's /health shows a failed append for 2 s after it: asked right after one more
# batch, until it says so.
log_failing() {
  send "b$((++n))" 1 > /dev/null
  grep -q '"status":"failing","reason":"events cannot be taken: bronze log: writing .*' <<< "$(health)"
}
# A batch at a time until one is refused: the writer fails at its next commit, whenever the
# busy cores let it come.
db_refusing() { grep -q "503:" <<< "$(send "d$((++n))" 1)"; }

check "a stream at first: every batch taken ($(send a 10))" test "$(send a2 5)" = "200:5"

# ---- the bronze log's disk fills up ----
fill "$data/log"
got=$(send b 60)
check "with the log's disk full what fits in its reserved space is taken, then nothing: 503s ($got)" then_refused 20
check "  saying why ($(reasons))" grep -q "No space left on device\|the disk is full" <<< "$(reasons)"
check "  /health says so (the log)" wait_for 60 log_failing
check "  and the log" grep -q "append to .* failed" "$tmp/run.log"
rm -f "$data/log/filler"
got=$(send c 10)
check "space freed: the stream is taken again, nothing else done ($got)" test "$got" = "200:10"
check "  and /health is ok" wait_healthy
check "silver holds exactly what was acknowledged" silver_matches

# ---- the database's disk fills up ----
fill "$data"
check "with the database's disk full the pipeline stops taking events: 503s" wait_for 60 db_refusing
check "  saying why ($(reasons))" grep -q "writing silver: the disk of .* below store.min_free (8 MB)" <<< "$(reasons)"
db_failing() { grep -q '"status":"failing","reason":"events cannot be taken: writing silver: the disk of .* below store.min_free' <<< "$(health)"; }
check "  /health says so (the database)" wait_for 60 db_failing
check "  and the log, once" test "$(grep -c 'writing silver: .*(retrying)' "$tmp/run.log")" = 1
rm -f "$data/filler"
check "space freed: the engine recovers by itself" wait_healthy
check "  saying so in the log" grep -q "silver writer recovered" "$tmp/run.log"
got=$(send e 10)
check "  and takes the stream again ($got)" test "$got" = "200:10"
check "silver holds exactly what was acknowledged, what waited for the database included" silver_matches
kill -TERM $pid; status=0; wait $pid || status=$?
check "the daemon stops cleanly (exit $status)" test "$status" = 0
finish
