#!/usr/bin/env bash
# A simulated shop for the dashboard tests: 600 customers over 90 days ingested,
# refunds of some of its orders, sessions, the models, two segmentation snapshots 30 days apart and churn scores.
# usage: dashboard_shop.sh CLICKPULSE_BINARY DATA_DIR
set -euo pipefail
bin=$1 data=$2
sim=$(mktemp -d)
trap 'rm -rf "$sim"' EXIT
cp_() { "$bin" "$@" --set data_dir="$data" --set logging.level=error; }
"$bin" simulate --customers 600 --days 90 --start 2026-01-01 --seed 7 --out "$sim" --outputs events --quiet
cp_ ingest --quiet "$sim/events.jsonl"
# refunds: every 9th order in full three days later, every 13th by half a day later, and
# one of an order the shop never saw
cp_ query --format json "SELECT order_id, user_id, CAST(revenue AS VARCHAR) AS revenue,
  strftime(event_time, '%Y-%m-%dT%H:%M:%S') AS t FROM orders ORDER BY order_id" |
  python3 -c '
import datetime as dt, decimal, json, sys
def line(i, o, amount, days):
    t = (dt.datetime.fromisoformat(o["t"]) + dt.timedelta(days=days)).isoformat() + "Z"
    print(json.dumps({"type": "track", "event": "Order Refunded", "userId": o["user_id"],
                      "messageId": f"refund-{i}", "timestamp": t, "receivedAt": t,
                      "properties": {"order_id": o["order_id"], "total": amount}}))
for i, o in enumerate(json.load(sys.stdin)):
    if o["revenue"] is None: continue
    if i % 9 == 0: line(i, o, o["revenue"], 3)
    elif i % 13 == 0: line(i, o, str((decimal.Decimal(o["revenue"]) / 2).quantize(decimal.Decimal("0.01"))), 1)
print(json.dumps({"type": "track", "event": "Order Refunded", "userId": "stranger", "messageId": "refund-x",
                  "timestamp": "2026-02-10T10:00:00Z", "receivedAt": "2026-02-10T10:00:00Z",
                  "context": {"location": {"country": "FR"}},
                  "properties": {"order_id": "not-ours", "total": "12.50"}}))
' > "$sim/refunds.jsonl"
cp_ ingest --quiet "$sim/refunds.jsonl"
cp_ jobs run sessions > /dev/null
cp_ models run > /dev/null
cp_ segment --k 4 --snapshot 2026-03-01 > /dev/null
cp_ segment --k 4 --snapshot 2026-03-31 > /dev/null
cp_ churn --snapshot 2026-03-31 > /dev/null
