#!/usr/bin/env bash
# Honest answers from the collector: an event the pipeline would reject (a time far in
# the future, a Snowplow dtm out of range) gets 400 with its reason instead of a
# success; a batch says which elements it rejected and why; and at the HTTP level:
# JSON answers carry X-Content-Type-Options: nosniff, a request followed by a
# half-close is answered (and its event kept), two Content-Length headers are refused.
source "$(dirname "$0")/lib.sh"
free_ports 4 port; col=http://127.0.0.1:$port; api=http://127.0.0.1:$((port + 1))
"$bin" run --set data_dir="$tmp/data" --set collector.listen=127.0.0.1:$port \
  --set dashboard.listen=127.0.0.1:$((port + 1)) --set collector.write_keys=wk=web \
  --set logging.level=error &
pid=$!
at_exit() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
wait_up "$col/health" "$pid"
auth=$(api_auth "$tmp/data")
code() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
q() { curl -s -H "$auth" --data-binary "$1" "$api/api/v1/query?format=csv&wait_ms=60000" | tail -n +2; }

# --- rejected events are answered as such ---
check "a single event from 2099: 400" test "$(code -u wk: -d '{"event":"Future","userId":"u-f","messageId":"f1","timestamp":"2099-01-01T00:00:00Z"}' "$col/v1/track")" = 400
check "  with the reason" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["success"] is False and d["reason"] == "bad_timestamp"))' "$tmp/body"
check "a batch with two bad elements: accepted, the bad ones named" test "$(code -u wk: -d '{"batch":[{"type":"track","event":"Ok","userId":"u-b","messageId":"b1"},{"type":"track","event":"Future","userId":"u-b","messageId":"b2","timestamp":"2099-01-01T00:00:00Z"},{"type":"track","event":"NoId","messageId":"b3"}]}' "$col/v1/batch")" = 200
check "  rejected 2: element 2 bad_timestamp, element 3 missing_identity" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
got = (d["success"], d["rejected"], [(r["index"], r["reason"]) for r in d["rejects"]])
sys.exit(got != (True, 2, [(2, "bad_timestamp"), (3, "missing_identity")]))' "$tmp/body"
check "a batch with nothing good: 400, every element named" test "$(code -u wk: -d '{"batch":[{"type":"track","event":"F1","userId":"u-c","messageId":"c1","timestamp":"2099-01-01T00:00:00Z"},{"type":"track","event":"F2","userId":"u-c","messageId":"c2","timestamp":"2099-01-01T00:00:00Z"}]}' "$col/v1/batch")" = 400
check "  both in its rejects" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit([(r["index"], r["reason"]) for r in d.get("rejects", [])] != [(1, "bad_timestamp"), (2, "bad_timestamp")])' "$tmp/body"
check "Snowplow GET with dtm far in the future: 400" test "$(code "$col/i?e=pv&aid=wk&eid=sp-f&duid=d-1&url=https%3A%2F%2Fshop.example%2F&dtm=10000000000000000")" = 400
check "  with its reason" grep -q '"reason":"bad_timestamp"' "$tmp/body"
check "Snowplow POST: the bad event named" test "$(code -H 'Content-Type: application/json' -d '{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"pv","aid":"wk","eid":"sp-ok","duid":"d-2","url":"https://shop.example/","dtm":"1790856000000"},{"e":"pv","aid":"wk","eid":"sp-bad","duid":"d-2","url":"https://shop.example/","dtm":"10000000000000000"}]}' "$col/com.snowplowanalytics.snowplow/tp2")" = 200
check "  rejected 1: the second, bad_timestamp" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit((d["rejected"], [(r["index"], r["reason"]) for r in d["rejects"]]) != (1, [(2, "bad_timestamp")]))' "$tmp/body"
check "what was answered as kept is kept, nothing else" test "$(q "SELECT string_agg(message_id, ' ' ORDER BY message_id) FROM events")" = "b1 sp-ok"
check "the rejects are dead letters with the same reasons" test "$(q "SELECT string_agg(reason, ' ' ORDER BY reason) FROM dead_letters")" = "bad_timestamp bad_timestamp bad_timestamp bad_timestamp bad_timestamp bad_timestamp missing_identity"

# --- HTTP ---
for u in "$col/health" "$api/health"; do
  check "nosniff on $u" grep -qi '^x-content-type-options: nosniff' <(curl -s -D - -o /dev/null "$u")
done
check "nosniff on an accepted event" grep -qi '^x-content-type-options: nosniff' <(curl -s -D - -o /dev/null -u wk: -d '{"event":"N","userId":"u-n"}' "$col/v1/track")
check "nosniff on an API answer" grep -qi '^x-content-type-options: nosniff' <(curl -s -D - -o /dev/null -H "$auth" "$api/api/v1/me")
# raw REQUEST: sends it, shuts down the writing side, prints what comes back (5 s at most)
raw() { python3 - "$port" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
s.shutdown(socket.SHUT_WR)
out = b""
try:
    while chunk := s.recv(4096):
        out += chunk
except socket.timeout:
    pass
print(out.decode(errors="replace"))
PY
}
body='{"event":"Half","userId":"u-h","messageId":"h1"}'
auth_b=$(printf wk: | base64)
ans=$(raw "POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: Basic $auth_b\r\nContent-Type: application/json\r\nContent-Length: ${#body}\r\n\r\n$body")
check "a request then a half-close: answered 200" grep -q '^HTTP/1.1 200' <<< "$ans"
check "  with the success body" grep -q '{"success":true}' <<< "$ans"
check "  and its event kept" test "$(q "SELECT count(*) FROM events WHERE message_id='h1'")" = 1
ans=$(raw "POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: Basic $auth_b\r\nContent-Length: ${#body}\r\nContent-Length: 5\r\n\r\n$body")
check "two Content-Length headers: 400" grep -q '^HTTP/1.1 400' <<< "$ans"
check "  and nothing kept" test "$(q "SELECT count(*) FROM events WHERE message_id='h1' OR event_name='Half'")" = 1
ans=$(python3 - "$((port + 1))" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\ntoken=x")
print(s.recv(4096).decode(errors="replace"))
PY
)
check "two Content-Length headers on the dashboard: 400" grep -q '^HTTP/1.1 400' <<< "$ans"
finish
