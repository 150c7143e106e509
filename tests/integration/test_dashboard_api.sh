#!/usr/bin/env bash
# The dashboard's API on a simulated shop: every page's numbers equal what the store
# gives for the range and filters (dashboard_compare.py recomputes them from the raw
# rows and checks the gold marts); logins — users with plain and hashed passwords, the
# token, session cookies, logout — and that a collector write key opens nothing; bad
# parameters, the SQL statement limits (read-only, rows, time) and the metrics.
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
free_ports 20 port; api=http://127.0.0.1:$((port + 1))
"$here/dashboard_shop.sh" "$bin" "$tmp/data"
hash=$(echo 'hunter2' | "$bin" passwd bob | sed 's/^bob: "\(.*\)"$/\1/')
check "passwd prints a yescrypt hash" test "${hash:0:3}" = '$y$'
"$bin" run --set data_dir="$tmp/data" --set collector.listen=127.0.0.1:$port \
  --set dashboard.listen=127.0.0.1:$((port + 1)) --set collector.write_keys=wk_web=web \
  --set dashboard.token=tok3n --set "dashboard.users=ana=plain-pw,bob=$hash" \
  --set dashboard.query_timeout=10s --set dashboard.query_max_rows=10000000 --set logging.level=error &
pid=$!
at_exit() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
wait_up "$api/health"
code() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
B=(-H "Authorization: Bearer tok3n")

# --- access ---
check "pages need a login" test "$(code "$api/api/v1/pages/sales")" = 401
check "  with a JSON reason" grep -q '"error":"log in first' "$tmp/body"
check "a page's HTML sends to the login, coming back with its query" \
  test "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$api/sales?from=2026-03-01&country=DE")" = "303 $api/login?next=/sales%3Ffrom%3D2026-03-01%26country%3DDE"
check "the login page itself is open" test "$(code "$api/login")" = 200
check "the dashboard's script is not" test "$(code "$api/app.js")" = 401
check "a write key as a Bearer token opens nothing" test "$(code -H 'Authorization: Bearer wk_web' "$api/api/v1/pages/sales")" = 401
check "a write key as HTTP Basic opens nothing" test "$(code -u wk_web: "$api/api/v1/me")" = 401
check "a write key as the login token opens nothing" test "$(code -d token=wk_web "$api/api/v1/login")" = 401
check "a wrong password: 401" test "$(code -d user=ana -d password=nope "$api/api/v1/login")" = 401
check "  with a reason" grep -q 'wrong user name or password' "$tmp/body"
check "plain password logs in" test "$(code -c "$tmp/ana" -d user=ana -d password=plain-pw "$api/api/v1/login")" = 200
check "the session cookie: HttpOnly, SameSite=Strict, Secure" \
  bash -c "curl -s -D - -o /dev/null -d user=ana -d password=plain-pw $api/api/v1/login | grep -qi '^set-cookie: cp_session=[0-9a-f]\{64\}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure'"
check "the cookie opens the API" test "$(curl -s -b "$tmp/ana" "$api/api/v1/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"])')" = ana
check "hashed password logs in" test "$(code -c "$tmp/bob" -d user=bob -d password=hunter2 "$api/api/v1/login")" = 200
check "the hash itself is no password" test "$(code -d user=bob --data-urlencode "password=$hash" "$api/api/v1/login")" = 401
check "the token logs in" test "$(code -d token=tok3n "$api/api/v1/login")" = 200
check "a token link logs in and goes on" test "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$api/login?token=tok3n&next=/funnel?from=2026-03-01")" = "303 $api/funnel?from=2026-03-01"
check "no open redirects" test "$(curl -s -o /dev/null -w '%{redirect_url}' "$api/login?token=tok3n&next=//evil.example/")" = "$api/"
check "the token as a Bearer header" test "$(code "${B[@]}" "$api/api/v1/me")" = 200
kill "$pid"; wait "$pid" 2>/dev/null || true # logins survive a restart:
"$bin" run --set data_dir="$tmp/data" --set collector.listen=127.0.0.1:$port \
  --set dashboard.listen=127.0.0.1:$((port + 1)) --set dashboard.token=tok3n \
  --set "dashboard.users=ana=plain-pw,bob=$hash" --set dashboard.query_timeout=10s --set dashboard.query_max_rows=10000000 --set logging.level=error &
pid=$!
wait_up "$api/health"
check "  the cookie still opens it" test "$(code -b "$tmp/ana" "$api/api/v1/me")" = 200
check "logout without the session's X-CSRF-Token: 403" test "$(code -b "$tmp/ana" -X POST "$api/api/v1/logout")" = 403
csrf=$(curl -s -b "$tmp/ana" "$api/api/v1/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf"])')
check "logout" test "$(code -b "$tmp/ana" -H "X-CSRF-Token: $csrf" -X POST "$api/api/v1/logout")" = 200
check "  and the cookie opens nothing after" test "$(code -b "$tmp/ana" "$api/api/v1/me")" = 401

# --- parameters and statements ---
check "a bad date: 400" test "$(code "${B[@]}" "$api/api/v1/pages/sales?from=2026-02-30")" = 400
check "  saying which" grep -q '"error":"from: expected YYYY-MM-DD"' "$tmp/body"
check "from after to: 400" test "$(code "${B[@]}" "$api/api/v1/pages/sales?from=2026-03-02&to=2026-03-01")" = 400
check "an unknown page: 404" test "$(code "${B[@]}" "$api/api/v1/pages/nope")" = 404
check "filter values are data, never SQL" test "$(curl -s "${B[@]}" "$api/api/v1/pages/sales?from=2026-01-01&to=2026-03-31&country=DE%27%20OR%201%3D1%20--" | python3 -c 'import json,sys; print(json.load(sys.stdin)["datasets"]["totals"][0]["orders"])')" = 0
check "SQL: writes refused" test "$(code "${B[@]}" -d 'DELETE FROM events' "$api/api/v1/query")" = 400
check "  with the reason" grep -q 'only read-only statements' "$tmp/body"
check "SQL: the row limit, and the count before it" \
  test "$(curl -s -D "$tmp/h" "${B[@]}" -d 'SELECT * FROM range(25)' "$api/api/v1/query?format=csv&max_rows=10" | wc -l) $(grep -i '^x-clickpulse-rows' "$tmp/h" | tr -d '\r')" = "11 X-Clickpulse-Rows: 25"
check "SQL: a statement past the time limit is stopped with 408" \
  test "$(code "${B[@]}" -d 'SELECT count(*) FROM range(100000000000) a' "$api/api/v1/query")" = 408
check "  saying so" grep -q 'longer than 10000 ms' "$tmp/body"
check "  and the API serves on" test "$(curl -s "${B[@]}" -d 'SELECT 7 AS x' "$api/api/v1/query?format=csv" | tail -1)" = 7
for f in "/etc/hostname" "$tmp/data/dashboard.sessions" "$tmp/data/dashboard.token"; do
  check "SQL: no file of the machine is read ($f)" test "$(code "${B[@]}" --data-binary "SELECT * FROM read_text('$f')" "$api/api/v1/query")" = 400
  check "  saying why" grep -q 'file system operations are disabled' "$tmp/body"
done
check "SQL: nor the bronze log" test "$(code "${B[@]}" --data-binary "SELECT count(*) FROM '$tmp/data/log/*.jsonl.zst'" "$api/api/v1/query")" = 400
check "SQL: nor other databases" test "$(code "${B[@]}" --data-binary "SELECT * FROM glob('$tmp/data/*')" "$api/api/v1/query")" = 400
check "metrics through the API" grep -q '^clickpulse_events_accepted_total ' <(curl -s "${B[@]}" "$api/api/v1/metrics")
check "every page answers without errors" python3 - "$api" <<'PY'
import json, sys, urllib.request
for p in ["overview", "sales", "acquisition", "countries", "funnel", "sessions", "content", "conversion",
          "customers", "segments", "pipeline"]:
    r = urllib.request.Request(f"{sys.argv[1]}/api/v1/pages/{p}?from=2026-01-01&to=2026-03-31",
                               headers={"Authorization": "Bearer tok3n"})
    body = json.load(urllib.request.urlopen(r))
    if body["errors"] or not body["datasets"] or not any(body["datasets"].values()):
        sys.exit(f"{p}: {body['errors']}")
PY

# --- the OpenAPI description names every endpoint the API serves ---
spec="$here/../../docs/openapi.yaml"
for path in /health /api/v1/login /api/v1/logout /api/v1/me '/api/v1/pages/{name}' /api/v1/filters \
    /api/v1/query /api/v1/metrics /api/v1/live /api/v1/live/stream /api/v1/jobs '/api/v1/jobs/{name}/run' /api/v1/forget; do
  check "openapi.yaml describes $path" grep -q "^  $path:$" "$spec"
done
check "openapi.yaml lists every page" test "$(grep -c '^  \(/api/v1\|/health\)' "$spec")" = 13
check "  and the pages the API has" grep -q "enum: \[overview, sales, acquisition, countries, funnel, sessions, content, conversion," "$spec"
for p in overview sales acquisition countries funnel sessions content conversion customers segments pipeline; do
  check "openapi.yaml's page $p is served" test "$(code "${B[@]}" "$api/api/v1/pages/$p")" = 200
done

# --- the numbers ---
check "every page's numbers equal the store's" python3 "$here/dashboard_compare.py" "$api" tok3n 2026-03-02 2026-03-31
finish
