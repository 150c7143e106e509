# Ports and readiness, sourced by the integration tests.
# free_ports N VAR: sets VAR to a base port with N (at most 20) free ports from it, below
# the kernel's ephemeral range (where brokers and outgoing connections take theirs).
# The block is reserved, not only seen free: a lock on $TMPDIR/clickpulse-ports/BASE,
# held through a descriptor of this shell (and of the processes it starts), keeps every
# other test — of this suite or of another running beside it — off it until they exit.
# Browser tests take the same locks (tests/browser/lib.mjs). Its locals are _fp_*, so that
# VAR can be any other name.
free_ports() {
  local _fp_n=$1 _fp_low _fp_base _fp_dir=${TMPDIR:-/tmp}/clickpulse-ports _fp_fd
  [ "$_fp_n" -le 20 ] || { echo "free_ports: at most 20 ports a block" >&2; return 1; }
  _fp_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
  [ "$_fp_low" -gt 32000 ] && _fp_low=32000
  mkdir -p "$_fp_dir"
  for _ in $(seq 400); do
    _fp_base=$(( 20000 + RANDOM % ((_fp_low - 20000) / 20) * 20 ))
    exec {_fp_fd}> "$_fp_dir/$_fp_base"
    if flock -n "$_fp_fd"; then
      if [ -z "$(ss -Htan "sport >= :$_fp_base and sport < :$((_fp_base + _fp_n))")" ]; then
        printf -v "$2" '%s' "$_fp_base"
        return 0
      fi
    fi
    exec {_fp_fd}>&-
  done
  echo "no $_fp_n free ports from 20000 to $_fp_low" >&2
  return 1
}

# wait_up URL [PID]: until URL answers 2xx (30 s); fails at once if PID has exited.
wait_up() {
  local url=$1 pid=${2:-}
  for _ in $(seq 300); do
    curl -sf "$url" > /dev/null && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2> /dev/null; then
      echo "process $pid exited before $url answered" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "no answer from $url in 30 s" >&2
  return 1
}

# wait_file FILE: until FILE is not empty (30 s).
wait_file() {
  for _ in $(seq 300); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  echo "$1 still empty after 30 s" >&2
  return 1
}

# wait_for SECONDS COMMAND…: until COMMAND succeeds, checked every 0.2 s; fails after SECONDS.
wait_for() {
  local until=$(( $(date +%s) + $1 )); shift
  until "$@"; do [ "$(date +%s)" -ge "$until" ] && return 1; sleep 0.2; done
}
