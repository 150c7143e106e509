#!/usr/bin/env bash
# The collector as clients use it: the real @segment/analytics-node client (with a
# forced 500 and its retry), curl for single events, batches and gzip bodies; bad
# input — broken JSON, wrong key, oversized body, gzip bomb, 10,000-event batch,
# a slow-loris connection — gets its documented answer while others are served.
set -euo pipefail
source "$(dirname "$0")/net.sh"
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
free_ports 20 port; api=$(( port + 1 ))
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if "${@:2}"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
api_auth() { echo "Authorization: Bearer $(cat "$1/dashboard.token")"; }
q() { "$bin" query --wait 60000 --set data_dir="$tmp/data" --set dashboard.listen=127.0.0.1:$api --format csv "$1" | tail -n +2; }
code() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
url=http://127.0.0.1:$port

"$bin" run --set data_dir="$tmp/data" --set collector.listen=127.0.0.1:$port \
  --set dashboard.listen=127.0.0.1:$api --set collector.write_keys=wk_web=web,wk_node=node,wk_sim=sim \
  --set logging.level=error 2>"$tmp/run.log" &
pid=$!
wait_up "$url/health"
check "health" test "$(curl -s $url/health)" = '{"status":"ok"}'
# The collector's servers share their port with each other only: a second daemon on it fails.
set +e
timeout 20 "$bin" run --set data_dir="$tmp/data2" --set collector.listen=127.0.0.1:$port \
  --set dashboard.listen=127.0.0.1:$((port + 2)) --set collector.write_keys=wk \
  --set logging.level=error 2>"$tmp/second.log"
second=$?
set -e
check "second daemon on the port refused" test "$second" -ne 0
check "second daemon says in use" grep -q "cannot listen on 127.0.0.1:$port: Address already in use" "$tmp/second.log"

# The real Segment client library.
out=$(node "$here/../js/segment_client.mjs" $port wk_node)
check "analytics-node ran" test -n "$out"
check "a forced 500 was retried" python3 -c "import json,sys; d=json.loads('$out'); sys.exit(0 if d['forced_failures']==1 and d['requests']>=4 and d['client_errors']==0 else 1)"
check "node events exactly once" test "$(q "SELECT count(*), count(DISTINCT message_id) FROM events WHERE source='node'")" = "53,53"
check "retried batch counted as duplicates" test "$(q "SELECT count(*) >= 20 FROM duplicates WHERE source='node'")" = true
check "node order" test "$(q "SELECT revenue, units FROM orders WHERE order_id='o-1'")" = "25.50,2"
check "node identify" test "$(q "SELECT email FROM events WHERE kind='identify' AND source='node'")" = "u1@example.com"
check "node library" test "$(q "SELECT count(*) FROM events WHERE source='node' AND ip = '127.0.0.1'")" = 53

# curl: single events on each route, Basic with and without the colon, writeKey in the body.
check "track" test "$(code -u wk_web: -d '{"event":"Signed Up","userId":"c1"}' $url/v1/track)" = 200
check "ack body" test "$(cat "$tmp/body")" = '{"success":true}'
check "page" test "$(code -H "Authorization: Basic $(printf wk_web | base64)" -d '{"anonymousId":"c-anon","name":"Home"}' $url/v1/page)" = 200
check "identify" test "$(code -d '{"writeKey":"wk_web","userId":"c1","traits":{"email":"c1@example.com"}}' $url/v1/identify)" = 200
for route in screen group alias; do
  check "$route" test "$(code -u wk_web: -d '{"userId":"c1","previousId":"x","groupId":"g","name":"S"}' $url/v1/$route)" = 200
done
check "batch" test "$(code -u wk_web: -d '{"batch":[{"type":"track","event":"E1","userId":"c2","messageId":"b-1"},{"type":"track","event":"E2","userId":"c2","messageId":"b-2"}]}' $url/v1/batch)" = 200
check "import" test "$(code -u wk_web: -d '{"batch":[{"type":"track","event":"E3","userId":"c2","messageId":"b-3","timestamp":"2026-01-02T03:04:05Z"}]}' $url/v1/import)" = 200
check "retry of a batch: deduplicated" test "$(code -u wk_web: -d '{"batch":[{"type":"track","event":"E1","userId":"c2","messageId":"b-1"}]}' $url/v1/batch)" = 200
printf '{"batch":[{"type":"track","event":"Gz","userId":"c3","messageId":"gz-1"}]}' | gzip > "$tmp/gz"
check "gzip body (any content type)" test "$(code -u wk_web: -H 'Content-Type: text/plain' -H 'Content-Encoding: gzip' --data-binary @"$tmp/gz" $url/v1/batch)" = 200
check "web events" test "$(q "SELECT count(*) FROM events WHERE source='web'")" = 10
check "import keeps its timestamp" test "$(q "SELECT strftime(event_time, '%Y-%m-%d %H:%M:%S') FROM events WHERE message_id='b-3'")" = "2026-01-02 03:04:05"
check "server receivedAt" test "$(q "SELECT count(*) FROM events WHERE source='web' AND received_at > now() - INTERVAL 5 MINUTE")" = 10

# Snowplow: the pixel (GET /i) and tp2 POSTs; the app id is the write key.
check "snowplow pixel" test "$(curl -s -o "$tmp/px" -w '%{http_code} %{content_type}' "$url/i?e=pv&aid=wk_web&eid=sp-1&duid=d-1&url=https%3A%2F%2Fshop.example%2Fp%2F1&page=Lamp&dtm=1790856000000&stm=1790856001000&sid=s-1")" = "200 image/gif"
check "pixel is a 1x1 gif" test "$(head -c 6 "$tmp/px")" = GIF89a
check "snowplow tp2" test "$(code -d '{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"se","aid":"wk_web","eid":"sp-2","duid":"d-1","se_ca":"video","se_ac":"play","se_va":"12.5"},{"e":"tr","aid":"wk_web","eid":"sp-3","uid":"c-9","tr_id":"o-7","tr_tt":"59.90","tr_cu":"EUR"},{"e":"ue","aid":"wk_web","eid":"sp-4","duid":"d-1","ue_pr":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":{\"schema\":\"iglu:com.acme/checkout_step/jsonschema/1-0-0\",\"data\":{\"step\":2}}}"}]}' $url/com.snowplowanalytics.snowplow/tp2)" = 200
check "snowplow events" test "$(q "SELECT string_agg(kind || ':' || event_name, '|' ORDER BY message_id) FROM events WHERE message_id LIKE 'sp-%'")" = "page:Lamp|custom:play|order_completed:Order Completed|custom:checkout_step"
check "query answers say they are fresh" test "$(curl -s -o /dev/null -D - -H "$(api_auth "$tmp/data")" -d 'SELECT 1' "http://127.0.0.1:$api/api/v1/query?wait_ms=5000" | tr -d '\r' | grep -i '^x-clickpulse-fresh')" = "X-Clickpulse-Fresh: true"
check "wait_ms checked" test "$(code -H "$(api_auth "$tmp/data")" -d 'SELECT 1' "http://127.0.0.1:$api/api/v1/query?wait_ms=-1")" = 400
check "snowplow session and skew-corrected time" test "$(q "SELECT session_id, event_time = received_at - INTERVAL 1 SECOND FROM events WHERE message_id='sp-1'")" = "s-1,true"
check "snowplow bad event" test "$(code "$url/i?e=zz&aid=wk_web")" = 400
check "snowplow unknown app" test "$(code "$url/i?e=pv&aid=nope")" = 401

# Bad input.
check "broken json" test "$(code -u wk_web: -d '{"event":' $url/v1/track)" = 400
check "broken json reason" grep -q '"reason":"not_json"' "$tmp/body"
check "wrong key" test "$(code -u nope: -d '{"event":"x","userId":"u"}' $url/v1/track)" = 401
check "no key" test "$(code -d '{"event":"x","userId":"u"}' $url/v1/track)" = 401
check "401 reason" grep -q '"reason":"unauthorized"' "$tmp/body"
head -c 600000 /dev/zero | tr '\0' 'a' > "$tmp/big"
check "oversized body" test "$(code -u wk_web: --data-binary @"$tmp/big" $url/v1/batch)" = 413
head -c 50000000 /dev/zero | gzip > "$tmp/bomb"
check "gzip bomb" test "$(code -u wk_web: -H 'Content-Encoding: gzip' --data-binary @"$tmp/bomb" $url/v1/batch)" = 413
check "bomb reason" grep -q 'decompressed body over' "$tmp/body"
python3 -c "import json; print(json.dumps({'batch':[{'type':'track','event':'t','userId':'u'}]*10000}, separators=(',',':')))" > "$tmp/many"
check "10,000 tiny events" test "$(code -u wk_web: -H 'Content-Encoding: gzip' --data-binary @<(gzip -c "$tmp/many") $url/v1/batch)" = 413
check "too many reason" grep -q '"reason":"too_many_events"' "$tmp/body"
check "event too large" test "$(code -u wk_web: -d "{\"event\":\"x\",\"userId\":\"u\",\"properties\":{\"p\":\"$(head -c 40000 /dev/zero | tr '\0' 'b')\"}}" $url/v1/track)" = 413
check "missing identity" test "$(code -u wk_web: -d '{"event":"x"}' $url/v1/track)" = 400
check "unknown route" test "$(code -u wk_web: -d '{}' $url/v1/nothing)" = 404
check "GET on a route" test "$(code $url/v1/track)" = 405
check "preflight" test "$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: https://shop.example' $url/v1/batch)" = 204
# a request all of whose events are refused is answered before its dead letters are in the
# log: query --wait does not cover them, they are waited for
web_dead() { [ "$(q "SELECT string_agg(reason, '|' ORDER BY reason) FROM dead_letters WHERE source='web'")" = "missing_identity|not_json|too_large|too_many_events" ]; }
check "dead letters" wait_for 60 web_dead
q "SELECT string_agg(reason, '|' ORDER BY reason) FROM dead_letters WHERE source='web'" >&2

# A slow-loris connection does not stop others; the server cuts it off.
python3 - "$port" > "$tmp/loris" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
print("connected", flush=True)
start = time.time()
try:
    while time.time() - start < 20:
        s.sendall(b"a")
        time.sleep(3)
    print("open")
except OSError:
    print("cut after %.0f s" % (time.time() - start))
PY
loris=$!
loris_on() { grep -q '^connected' "$tmp/loris"; }
check "slow-loris connected" wait_for 60 loris_on
check "served during slow-loris" test "$(code -u wk_web: -d '{"event":"During","userId":"c9"}' $url/v1/track)" = 200
wait $loris
check "slow-loris cut off" grep -q '^cut after' "$tmp/loris"

# The simulator as an HTTP client: every event once, every duplicate and bad line seen.
"$bin" simulate --customers 400 --days 2 --seed 3 --out "$tmp/sim" --quiet
check "simulate --http" "$bin" simulate --customers 400 --days 2 --seed 3 --http $url --write-key wk_sim --quiet
read -r events dups bad revenue < <(python3 -c "import json;t=json.load(open('$tmp/sim/truth.json'))['totals'];print(t['events'],t['duplicates'],t['rejected'],'%.2f'%t['revenue'])")
sim_whole() { # silver may lag on busy cores: waited for, with a deadline
  [ "$(q "SELECT count(*), count(DISTINCT message_id) FROM events WHERE source='sim'" 2> /dev/null)" = "$events,$events" ]
}
check "sim events" wait_for 60 sim_whole
check "sim duplicates" test "$(q "SELECT count(*) FROM duplicates WHERE source='sim'")" = "$dups"
sim_dead() { [ "$(q "SELECT count(*) FROM dead_letters WHERE source='sim'")" = "$bad" ]; } # bad lines go alone: as web_dead
check "sim bad lines" wait_for 60 sim_dead
check "sim revenue" test "$(q "SELECT sum(o.revenue) FROM orders o JOIN events e USING (\"offset\") WHERE e.source='sim'")" = "$revenue"

metrics_401() { grep -q 'clickpulse_http_requests_total{route="/v1/track",status="401"} 2' <<< "$(curl -s $url/metrics)"; }
metrics_events() { grep -q "^clickpulse_events_accepted_total $(( 68 + events ))$" <<< "$(curl -s $url/metrics)"; }
check "metrics" wait_for 60 metrics_401
check "metrics events" wait_for 60 metrics_events

# Connections: the first collector.poll_connections (32) of each poll server are answered
# by the poll servers, any more by the epoll servers; a place freed is taken again.
python3 - "$port" > "$tmp/loops" <<'PY'
import base64, socket, sys, time
port = int(sys.argv[1])
auth = base64.b64encode(b"wk_web:").decode()
def answer(s):
    data = b""
    while b"\r\n\r\n" not in data: data += s.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    while len(body) < n: body += s.recv(65536)
    return int(head.split(b" ")[1]), body
def track(s, i):
    body = ('{"event":"Steer","userId":"s%d"}' % i).encode()
    s.sendall(b"POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + auth.encode() +
              b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    return answer(s)[0]
def gauges():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    text = answer(s)[1].decode()
    s.close()
    g = {}
    for line in text.splitlines():
        if line.startswith("clickpulse_http_servers{") or line.startswith("clickpulse_http_connections{"):
            name, value = line.rsplit(" ", 1)
            g[name] = int(value)
    return g
def settle(poll, epoll):  # closed connections are counted out when their server sees them
    deadline = time.time() + 60
    while time.time() < deadline:
        g = gauges()
        if (g['clickpulse_http_connections{loop="poll"}'], g['clickpulse_http_connections{loop="epoll"}']) == (poll, epoll):
            break
        time.sleep(0.05)
    return g['clickpulse_http_connections{loop="poll"}'], g['clickpulse_http_connections{loop="epoll"}']
servers = gauges()['clickpulse_http_servers{loop="poll"}']
print("servers", servers, gauges()['clickpulse_http_servers{loop="epoll"}'])
print("idle", *settle(1, 0))                    # the metrics request's own connection
full = 32 * servers
conns, codes = [], []
for i in range(full + 3):
    conns.append(socket.create_connection(("127.0.0.1", port)))
    codes.append(track(conns[-1], i))
print("full", *settle(full, 4))                 # 3 more and the metrics one: epoll
for c in conns[:10]: c.close()
print("freed", *settle(full - 10 + 1, 3))       # the metrics connection: poll again
codes += [track(c, 1000 + i) for i, c in enumerate(conns[10:])]
for c in conns[10:]: c.close()
print("closed", *settle(1, 0))
burst = [socket.create_connection(("127.0.0.1", port)) for _ in range(full + 3)]  # all at once
codes += [track(c, 2000 + i) for i, c in enumerate(burst)]
print("burst", *settle(full, 4))
print("codes", len(codes), sorted(set(codes)))
PY
servers=$(awk '/^servers/{print $2}' "$tmp/loops")
full=$(( 32 * servers ))
check "servers: poll and epoll, one each a core ($(head -1 "$tmp/loops"))" test "$(head -1 "$tmp/loops")" = "servers $servers $servers"
check "connections: metrics alone" grep -qx "idle 1 0" "$tmp/loops"
check "connections: poll full, 4 more on epoll" grep -qx "full $full 4" "$tmp/loops"
check "connections: freed poll places taken again" grep -qx "freed $(( full - 9 )) 3" "$tmp/loops"
check "connections: all closed" grep -qx "closed 1 0" "$tmp/loops"
check "connections: a burst placed the same" grep -qx "burst $full 4" "$tmp/loops"
check "connections: every request answered 200" grep -qx "codes $(( 3 * full - 1 )) \[200\]" "$tmp/loops"
check "connections: silver has each event" test "$(q "SELECT count(*), count(DISTINCT user_id) FROM events WHERE event_name='Steer'")" = "$(( 3 * full - 1 )),$(( 3 * full - 1 ))"
kill -TERM $pid; wait $pid || true; pid=
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
