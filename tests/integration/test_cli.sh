#!/usr/bin/env bash
# The clickpulse binary as a user runs it: help and exit codes, configuration
# sources, and simulate's outputs (deterministic, complete, consistent).
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
check() { # check NAME COMMAND...: the command must succeed
  if "${@:2}"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi
}
expect_exit() { # expect_exit CODE COMMAND...
  local want=$1; shift; set +e; "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?; set -e
  [ "$got" -eq "$want" ] || { echo "exit $got, expected $want: $*"; cat "$tmp/err"; return 1; }
}

# Help and usage errors.
check "help" expect_exit 0 "$bin" --help
check "help lists simulate" grep -q '^  simulate ' "$tmp/out"
for cmd in simulate config version; do
  check "$cmd --help" expect_exit 0 "$bin" "$cmd" --help
  check "$cmd help text" grep -q "^Usage: clickpulse $cmd" "$tmp/out"
done
check "no command" expect_exit 2 "$bin"
check "unknown command" expect_exit 2 "$bin" frobnicate
check "unknown command message" grep -q "unknown command 'frobnicate'" "$tmp/err"
check "unknown option" expect_exit 2 "$bin" simulate --customer 5
check "suggestion" grep -qx "clickpulse simulate: unknown option --customer (did you mean --customers?)" "$tmp/err"
check "bad value" expect_exit 2 "$bin" simulate --days zero
check "bad value message" grep -q "invalid value 'zero' for simulator.days: expected an integer from 1 to 3660" "$tmp/err"
check "version" expect_exit 0 "$bin" version
check "version text" grep -q '^clickpulse 0.1.0$' "$tmp/out"
check "duckdb linked" grep -q '^duckdb v1.4.4' "$tmp/out"

# Configuration: file < environment < --set, each with its origin.
cat >"$tmp/c.yaml" <<YAML
collector:
  listen: 127.0.0.1:9001
simulator:
  rate: 5
  customers: 77
YAML
check "config show" expect_exit 0 env CLICKPULSE_SIMULATOR_RATE=6 "$bin" config show --config "$tmp/c.yaml" --set simulator.customers=78
check "origin file" grep -q "^collector.listen = 127.0.0.1:9001 .*# file $tmp/c.yaml:2$" "$tmp/out"
check "origin env" grep -q "^simulator.rate = 6 .*# env CLICKPULSE_SIMULATOR_RATE$" "$tmp/out"
check "origin set" grep -q "^simulator.customers = 78 .*# --set$" "$tmp/out"
check "origin default" grep -q "^data_dir = ./data .*# default$" "$tmp/out"
check "config typo" expect_exit 2 env CLICKPULSE_DATA_DIRR=x "$bin" config check
check "config typo message" grep -q "unknown environment variable CLICKPULSE_DATA_DIRR (did you mean the key 'data_dir'?)" "$tmp/err"
check "config keys" expect_exit 0 "$bin" config keys
check "keys documented" grep -q "^collector.write_keys (map, default '')" "$tmp/out"

# simulate: the same seed gives byte-identical output; another seed does not.
check "simulate a" expect_exit 0 "$bin" simulate --customers 3000 --days 30 --seed 7 --out "$tmp/a"
check "summary" grep -q "^simulate: .* lines to $tmp/a: " "$tmp/err"
check "simulate b" expect_exit 0 "$bin" simulate --customers 3000 --days 30 --seed 7 --out "$tmp/b" --quiet
check "simulate c" expect_exit 0 "$bin" simulate --customers 3000 --days 30 --seed 8 --out "$tmp/c" --quiet
for f in events.jsonl customers.csv purchases.csv clickstream.csv truth.json; do
  check "$f written" test -s "$tmp/a/$f"
  check "$f identical" cmp -s "$tmp/a/$f" "$tmp/b/$f"
done
check "seed changes events" bash -c "! cmp -s '$tmp/a/events.jsonl' '$tmp/c/events.jsonl'"
check "customers rows" test "$(wc -l <"$tmp/a/customers.csv")" -eq 3001
check "purchases header" test "$(head -1 "$tmp/a/purchases.csv")" = "order_id,customer_id,product_id,quantity,price,total_amount,purchase_date"
check "clickstream header" test "$(head -1 "$tmp/a/clickstream.csv")" = "user_id,session_id,page_url,event_type,product_id,timestamp"

# The ground truth agrees with the files it describes.
check "truth consistent" python3 - "$tmp/a" <<'PY'
import csv, json, sys, collections
d = sys.argv[1]
t = json.load(open(d + "/truth.json"))
lines = sum(1 for _ in open(d + "/events.jsonl", "rb"))
assert t["totals"]["lines"] == lines, (t["totals"]["lines"], lines)
assert t["totals"]["lines"] == t["totals"]["events"] + t["totals"]["duplicates"] + t["totals"]["rejected"]
rows = list(csv.DictReader(open(d + "/purchases.csv")))
orders = {r["order_id"] for r in rows}
assert len(orders) == t["totals"]["orders"], (len(orders), t["totals"]["orders"])
cents = sum(round(float(r["total_amount"]) * 100) for r in rows)
assert cents == round(t["totals"]["revenue"] * 100), (cents, t["totals"]["revenue"])
assert sum(int(r["quantity"]) for r in rows) == t["totals"]["units"]
clicks = sum(1 for _ in open(d + "/clickstream.csv")) - 1
assert clicks == t["totals"]["events"], (clicks, t["totals"]["events"])
assert sum(day["orders"] for day in t["days"]) == t["totals"]["orders"]
assert len(t["customer_personas"]) == 3000 and sum(t["persona_counts"].values()) == 3000
assert set(t["customer_personas"].values()) == {"window_shopper", "bargain_hunter", "regular", "loyal_high_spender", "churning"}
assert len(t["days"]) == 30 and t["days"][0]["date"] == "2026-10-01"
PY

# Profiles alone (the path that scales to 100 million customers).
check "profiles only" expect_exit 0 "$bin" simulate --customers 200000 --seed 7 --outputs customers --out "$tmp/p"
check "profiles summary" grep -q "^simulate: 200000 customer profiles to $tmp/p in " "$tmp/err"
check "profiles rows" test "$(wc -l <"$tmp/p/customers.csv")" -eq 200001
check "profiles match" cmp -s <(head -3001 "$tmp/p/customers.csv") "$tmp/a/customers.csv"
check "no other outputs" test ! -e "$tmp/p/events.jsonl"
check "bad outputs" expect_exit 2 "$bin" simulate --outputs customers,orders --out "$tmp/p"
check "bad outputs message" grep -q "unknown output 'orders'" "$tmp/err"

# Events to standard output, batch envelopes, pacing.
check "stdout batches" bash -c "'$bin' simulate --customers 200 --days 1 --format batch --batch-size 50 --quiet | head -1 | grep -q '^{\"batch\":\[{\"type\":'"
start=$(date +%s%N)
check "paced" expect_exit 0 "$bin" simulate --customers 100 --days 1 --rate 20000 --out - --quiet
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
n=$(wc -l <"$tmp/out")
check "pacing slows output" test "$elapsed" -ge $(( n * 1000 / 20000 - 200 ))

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
