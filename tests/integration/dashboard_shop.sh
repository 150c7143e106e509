#!/usr/bin/env bash
# A simulated shop for the dashboard tests: 600 customers over 90 days ingested,
# sessions, the models, two segmentation snapshots 30 days apart and churn scores.
# usage: dashboard_shop.sh CLICKPULSE_BINARY DATA_DIR
set -euo pipefail
bin=$1 data=$2
sim=$(mktemp -d)
trap 'rm -rf "$sim"' EXIT
cp_() { "$bin" "$@" --set data_dir="$data" --set logging.level=error; }
"$bin" simulate --customers 600 --days 90 --start 2026-01-01 --seed 7 --out "$sim" --outputs events --quiet
cp_ ingest --quiet "$sim/events.jsonl"
cp_ jobs run sessions > /dev/null
cp_ models run > /dev/null
cp_ segment --k 4 --snapshot 2026-03-01 > /dev/null
cp_ segment --k 4 --snapshot 2026-03-31 > /dev/null
cp_ churn --snapshot 2026-03-31 > /dev/null
