# Real database servers on loopback for the sink tests and benchmarks (sourced): each
# start_* makes a temporary instance under $1 on port $2 and waits until it answers;
# stop_* stops it (the data stays, so start_* again restarts it). Debian's packages:
# postgresql-15 (initdb and pg_ctl as the postgres user), clickhouse-server, influxdb.

pg_bin=/usr/lib/postgresql/15/bin

# PostgreSQL: a cluster in $1/pg owned by postgres, trust authentication on 127.0.0.1.
start_postgres() {
  local dir=$1 port=$2
  if [ ! -d "$dir/pg" ]; then
    mkdir -p "$dir/pg" && chown postgres "$dir/pg" && chmod 755 "$dir"
    runuser -u postgres -- "$pg_bin/initdb" -D "$dir/pg/data" -A trust -U postgres \
      --no-sync -E UTF8 > "$dir/pg/initdb.log" 2>&1 || { cat "$dir/pg/initdb.log"; return 1; }
  fi
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w -t 30 \
    -o "-p $port -k $dir/pg -c listen_addresses=127.0.0.1 -c fsync=off" start > /dev/null
}
stop_postgres() { runuser -u postgres -- "$pg_bin/pg_ctl" -D "$1/pg/data" -m immediate -w stop > /dev/null 2>&1 || true; }
# psql against it: psql_at DIR PORT SQL (unaligned, tuples only).
psql_at() { psql -h 127.0.0.1 -p "$2" -U postgres -d postgres -X -q -At -c "$3"; }

# ClickHouse: a server with its own configuration in $1/ch; HTTP on $2, native on $2+1.
start_clickhouse() {
  local dir=$1 port=$2
  mkdir -p "$dir/ch"
  cat > "$dir/ch/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/ch/server.log</log><errorlog>$dir/ch/error.log</errorlog><console>0</console></logger>
  <http_port>$port</http_port>
  <tcp_port>$((port + 1))</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$dir/ch/data/</path>
  <tmp_path>$dir/ch/tmp/</tmp_path>
  <user_files_path>$dir/ch/user_files/</user_files_path>
  <format_schema_path>$dir/ch/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709120</mark_cache_size>
  <mlock_executable>false</mlock_executable>
</yandex>
EOF
  cat > "$dir/ch/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
EOF
  /usr/sbin/clickhouse-server --config-file="$dir/ch/config.xml" > "$dir/ch/stdout" 2>&1 &
  echo $! > "$dir/ch/pid"
  for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/ping" > /dev/null && return 0; sleep 0.1; done
  cat "$dir/ch/stdout" "$dir/ch/error.log" 2>/dev/null; return 1
}
stop_clickhouse() {
  [ -f "$1/ch/pid" ] || return 0
  local pid; pid=$(cat "$1/ch/pid")
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$1/ch/pid"
}
# A query over HTTP: ch_at PORT SQL.
ch_at() { curl -sf "http://127.0.0.1:$1/" --data-binary "$2"; }

# InfluxDB 1.x: HTTP on $2, its RPC bind address on $2+1.
start_influx() {
  local dir=$1 port=$2
  mkdir -p "$dir/influx"
  cat > "$dir/influx/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$((port + 1))"
[meta]
  dir = "$dir/influx/meta"
[data]
  dir = "$dir/influx/data"
  wal-dir = "$dir/influx/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false
[monitor]
  store-enabled = false
[logging]
  level = "warn"
EOF
  influxd -config "$dir/influx/influxdb.conf" > "$dir/influx/stdout" 2>&1 &
  echo $! > "$dir/influx/pid"
  for _ in $(seq 150); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ping")" = 204 ] && return 0
    sleep 0.1
  done
  cat "$dir/influx/stdout"; return 1
}
stop_influx() {
  [ -f "$1/influx/pid" ] || return 0
  local pid; pid=$(cat "$1/influx/pid")
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$1/influx/pid"
}
# A query as CSV: influx_at PORT DB QUERY.
influx_at() {
  curl -sf -G "http://127.0.0.1:$1/query" -H 'Accept: application/csv' \
    --data-urlencode "db=$2" --data-urlencode "q=$3"
}

stop_servers() { stop_postgres "$1"; stop_clickhouse "$1"; stop_influx "$1"; }
