#!/usr/bin/env bash
# Overload at the collector: with a small backlog limit and many concurrent large
# batches, some requests get 429 with Retry-After, none is lost: every event of
# every request answered 200 is in silver, and nothing else is.
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 )); api=$(( port + 1 ))
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
"$bin" run --set data_dir="$tmp/data" --set collector.listen=127.0.0.1:$port \
  --set dashboard.listen=127.0.0.1:$api --set collector.write_keys=k --set collector.max_backlog=1000 \
  --set logging.level=error 2>"$tmp/run.log" &
pid=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/health >/dev/null && break; sleep 0.1; done
python3 - "$port" "$tmp/acked" <<'PY'
import base64, http.client, json, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
auth = "Basic " + base64.b64encode(b"k:").decode()
acked, codes, lock = [], {}, threading.Lock()
def send(r):
    events = [{"type": "track", "event": "Load", "userId": "u%d" % r, "messageId": "m-%d-%d" % (r, i)}
              for i in range(2000)]
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/batch", json.dumps({"batch": events}), {"Authorization": auth})
    resp = c.getresponse(); resp.read()
    with lock:
        codes[resp.status] = codes.get(resp.status, 0) + 1
        if resp.status == 200: acked.append(r)
        if resp.status == 429: assert resp.getheader("Retry-After") == "1"
threads = [threading.Thread(target=send, args=(r,)) for r in range(40)]
for t in threads: t.start()
for t in threads: t.join()
json.dump({"acked": sorted(acked), "codes": codes}, open(out, "w"))
print("answers:", codes)
PY
sleep 1
pass=0; fail=0
check() { if "${@:2}"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
check "some requests got 429" python3 -c "import json,sys; d=json.load(open('$tmp/acked')); sys.exit(0 if d['codes'].get('429',0) > 0 else 1)"
check "the others got 200" python3 -c "import json,sys; d=json.load(open('$tmp/acked')); sys.exit(0 if set(d['codes']) <= {'200','429'} and len(d['acked']) > 0 else 1)"
want=$(python3 -c "import json; d=json.load(open('$tmp/acked')); print(' '.join('u%d' % r for r in d['acked']))")
got=$("$bin" query --set data_dir="$tmp/data" --set dashboard.listen=127.0.0.1:$api --format csv \
  "SELECT string_agg(user_id, ' ' ORDER BY CAST(substr(user_id, 2) AS INT)) FROM (SELECT user_id FROM events GROUP BY 1 HAVING count(*) = 2000)" | tail -1)
check "every acknowledged request is in silver, whole ($got / $want)" test "$got" = "$want"
total=$("$bin" query --set data_dir="$tmp/data" --set dashboard.listen=127.0.0.1:$api --format csv "SELECT count(*) FROM events" | tail -1)
check "and nothing else" test "$total" = "$(( $(python3 -c "import json; print(len(json.load(open('$tmp/acked'))['acked']))") * 2000 ))"
kill -TERM $pid; wait $pid || true; pid=
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
