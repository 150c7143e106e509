#!/usr/bin/env bash
# The gold layer under a live stream: while a simulated shop streams into the running
# daemon's collector, the sessions and models jobs run again and again (as the scheduler
# does every minute); each run after the first refreshes the incremental marts
# incrementally (never a full rebuild), the marts grow with the stream, and once it is
# stopped one more run leaves them equal to silver and to a full rebuild.
source "$(dirname "$0")/lib.sh"
free_ports 20 port
pid=; sim=
at_exit() { [ -n "$pid" ] && kill -9 $pid 2>/dev/null; [ -n "$sim" ] && kill $sim 2>/dev/null; true; }
api=http://127.0.0.1:$((port + 1))
q() { "$bin" query --wait 60000 --format csv "$1" --set data_dir="$tmp/data" --set dashboard.listen=127.0.0.1:$((port + 1)) | tail -1; }
# Runs a job in the daemon and waits for its run to be recorded as ok.
run_job() {
  local before; before=$(q "SELECT count(*) FROM job_runs WHERE job = '$1' AND status = 'ok'")
  curl -sf -H "$(api_auth "$tmp/data")" -X POST "$api/api/v1/jobs/$1/run" > /dev/null
  for _ in $(seq 300); do
    [ "$(q "SELECT count(*) FROM job_runs WHERE job = '$1' AND status = 'ok'")" -gt "$before" ] && return 0
    sleep 0.1
  done
  return 1
}

# Schedules far away: only the runs this test starts happen.
"$bin" run --set data_dir="$tmp/data" --set dashboard.listen=127.0.0.1:$((port + 1)) \
  --set collector.listen=127.0.0.1:$port --set collector.write_keys=wk_live \
  --set jobs.sessions.schedule="0 0 1 1 *" --set jobs.models.schedule="0 0 1 1 *" \
  --set jobs.tests.schedule="0 0 1 1 *" --set logging.level=info 2> "$tmp/run.log" &
pid=$!
wait_up "http://127.0.0.1:$port/health"
"$bin" simulate --customers 600 --days 60 --seed 12 --http http://127.0.0.1:$port \
  --write-key wk_live --rate 600 --quiet > "$tmp/sim.out" 2>&1 &
sim=$!
events() { q "SELECT count(*) FROM events"; }
orders() { [ "$(q "SELECT count(*) FROM orders")" -gt 0 ]; }
check "the stream's first orders are in silver" wait_for 60 orders
counts=()
for round in 1 2 3; do
  check "round $round: sessions" run_job sessions
  check "round $round: models" run_job models
  counts+=("$(q "SELECT count(*) FROM gold.fct_purchases")")
  seen=$(events)
  grown() { [ "$(events)" -gt "$seen" ]; }
  check "round $round: more events came" wait_for 60 grown
done
still=$(kill -0 $sim 2>/dev/null && echo yes || echo no)
check "the stream was still running after three rounds" test "$still" = yes
kill $sim; wait $sim 2>/dev/null || true; sim=
check "the marts grew with the stream (${counts[*]})" test "${counts[0]}" -lt "${counts[2]}" -a "${counts[0]}" -gt 0
check "final sessions" run_job sessions
check "final models" run_job models
check "fct_purchases: one row an order of silver" test "$(q "SELECT count(*) FROM gold.fct_purchases")" = "$(q "SELECT count(*) FROM orders")"
check "daily sales equal silver" test "$(q "SELECT count(*) FROM gold.daily_sales_summary d FULL JOIN (SELECT event_date AS day, count(*) AS orders, sum(revenue) AS revenue FROM orders GROUP BY 1) s USING (day) WHERE d.orders IS DISTINCT FROM s.orders OR d.revenue IS DISTINCT FROM s.revenue")" = 0
check "dim_customers: every customer once" test "$(q "SELECT count(*) = count(DISTINCT user_id) AND count(*) = (SELECT count(*) FROM customers) FROM gold.dim_customers")" = true
check "dim_customers' orders equal silver's" test "$(q "SELECT count(*) FROM gold.dim_customers d LEFT JOIN (SELECT user_id, count(*) AS n FROM orders GROUP BY 1) o USING (user_id) WHERE d.orders <> coalesce(o.n, 0)")" = 0
# Built once in full, then only incrementally: 4 model runs, the first builds.
check "fct_purchases built in full once" test "$(grep -c 'full-refresh fct_purchases' "$tmp/run.log")" = 1
check "then refreshed incrementally three times" test "$(grep -c 'incremental fct_purchases' "$tmp/run.log")" = 3
check "dim_customers likewise" test "$(grep -c 'incremental dim_customers' "$tmp/run.log")" = 3
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
"$bin" models run --full-refresh --set data_dir="$tmp/data" > /dev/null
finish
