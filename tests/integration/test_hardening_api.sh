#!/usr/bin/env bash
# The API's own limits: the row limit is the server's (a request may ask for fewer,
# never more; 0, -1 or text is refused), a statement of 10,000,000 rows streams within
# bounded memory, an answer past dashboard.query_max_bytes is refused with 413, a string
# with a NUL byte comes back whole; failed logins are limited per address and for all
# addresses together, with growing waits, while a right password from another address
# still works until the overall limit.
source "$(dirname "$0")/lib.sh"
free_ports 4 port; api=http://127.0.0.1:$((port + 1))
"$bin" run --set data_dir="$tmp/data" --set collector.listen=127.0.0.1:$port \
  --set dashboard.listen=127.0.0.1:$((port + 1)) --set collector.write_keys=wk=web \
  --set dashboard.token=t0k --set dashboard.users=ana=s3cret --set dashboard.query_max_rows=1000 \
  --set dashboard.query_max_bytes=1MB --set dashboard.login_failures=5 --set logging.level=error &
pid=$!
at_exit() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
wait_up "$api/health" "$pid"
B=(-H "Authorization: Bearer t0k")
code() { curl -s -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "$@"; }
rows_header() { grep -i '^x-clickpulse-rows' "$tmp/head" | tr -d '\r' | cut -d' ' -f2; }

# --- rows ---
for m in 0 -1 abc 1e3 ''; do
  check "max_rows=$m: 400" test "$(code "${B[@]}" -d 'SELECT * FROM range(5000)' "$api/api/v1/query?format=csv&max_rows=$m")" = 400
done
check "  saying the range" grep -q '"error":"max_rows: expected a number of rows from 1 to 1000"' "$tmp/body"
check "no max_rows: the server's 1,000 rows" test "$(code "${B[@]}" -d 'SELECT * FROM range(5000)' "$api/api/v1/query?format=csv") $(wc -l < "$tmp/body") $(rows_header)" = "200 1001 5000"
check "a huge max_rows: still 1,000" test "$(code "${B[@]}" -d 'SELECT * FROM range(5000)' "$api/api/v1/query?format=csv&max_rows=99999999999") $(wc -l < "$tmp/body")" = "200 1001"
check "fewer when asked" test "$(code "${B[@]}" -d 'SELECT * FROM range(5000)' "$api/api/v1/query?format=json&max_rows=3") $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/body")" = "200 3"
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
check "10,000,000 rows: 1,000 of them, all counted" test "$(code "${B[@]}" -d "SELECT i, repeat('x', 40) || i AS s FROM range(10000000) t(i)" "$api/api/v1/query?format=csv") $(wc -l < "$tmp/body") $(rows_header)" = "200 1001 10000000"
rss_after=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "daemon RSS around the 10,000,000-row statement: $rss_before kB -> $rss_after kB"
check "  the daemon's memory grew by less than 200 MB" test $((rss_after - rss_before)) -lt 204800
check "an answer past query_max_bytes: 413" test "$(code "${B[@]}" -d "SELECT repeat('y', 5000) FROM range(900)" "$api/api/v1/query?format=csv")" = 413
check "  naming the key" grep -q 'dashboard.query_max_bytes' "$tmp/body"
check "a string with a NUL byte comes back whole (JSON)" test "$(curl -s "${B[@]}" -d "SELECT 'a' || chr(0) || 'b' AS s, 7 AS n" "$api/api/v1/query?format=json")" = '[{"s":"a\u0000b","n":7}]'
check "  and CSV" test "$(curl -s "${B[@]}" -d "SELECT 'a' || chr(0) || 'b' AS s" "$api/api/v1/query?format=csv" | od -An -c | tr -s ' ')" = " s \n a \0 b \n"
check "types as before: decimal, double, date, timestamp, boolean, NULL" \
  test "$(curl -s "${B[@]}" -d "SELECT 12.50::DECIMAL(18,2) AS d, -0.5::DECIMAL(18,2) AS m, 100::DOUBLE AS f, 0.1::DOUBLE AS g, DATE '2026-03-01' AS day, TIMESTAMP '2026-03-01 10:11:12.5' AS t, true AS b, NULL AS z" "$api/api/v1/query?format=csv")" = "$(printf 'd,m,f,g,day,t,b,z\n12.50,-0.50,100.0,0.1,2026-03-01,2026-03-01 10:11:12.5,true,')"
check "the table format streams too" test "$(curl -s "${B[@]}" -d "SELECT 1 AS a" "$api/api/v1/query?format=table" | tail -1)" = "(1 row)"

# --- logins ---
login() { curl -s -o /dev/null -w '%{http_code}' --interface "$1" -d user=ana -d "password=$2" "$api/api/v1/login"; }
codes=""
for i in $(seq 7); do codes="$codes $(login 127.0.0.1 wrong$i)"; done
check "five failures a minute from an address, then 429" test "$codes" = " 401 401 401 401 401 429 429"
check "  with Retry-After" grep -qi '^retry-after: [1-9]' <(curl -s -D - -o /dev/null -d user=ana -d password=x "$api/api/v1/login")
check "  even the right password waits" test "$(login 127.0.0.1 s3cret)" = 429
check "another address logs in" test "$(login 127.0.0.2 s3cret)" = 200
# 200 parallel guesses from 40 addresses: at most 50 are looked at (ten times the limit)
seq 200 | xargs -P 50 -I{} sh -c 'curl -s -o /dev/null -w "%{http_code}\n" --interface 127.0.0.$((({} % 40) + 10)) -d user=ana -d password=g{} '"$api"'/api/v1/login' > "$tmp/guesses"
n401=$(grep -c '^401$' "$tmp/guesses" || true); n429=$(grep -c '^429$' "$tmp/guesses" || true)
echo "200 parallel guesses from 40 addresses: $n401 looked at (401), $n429 refused (429)"
check "parallel guesses from many addresses: at most 50 looked at" test "$n401" -le 50
check "  the rest refused with 429" test $((n401 + n429)) = 200
check "  then even a new address waits" test "$(login 127.0.0.99 s3cret)" = 429
finish
