#!/usr/bin/env python3
"""Connection floods for test_hardening_flood.sh, on real sockets.

usage: flood.py MODE PORT N [SECONDS] [OTHER_HEALTH_URL]
  idle  PORT N    opens N connections that send nothing
  slow  PORT N    opens N connections that send a request line, then one header line a second
Each connection's fate is watched until every one is closed or SECONDS (default 15) pass.
Meanwhile, once all are open, OTHER_HEALTH_URL (the other port's /health) is asked five
times; the answers' status and latency are measured.
Prints one JSON line: opened, closed_at_once (closed within 1 s of opening: refused),
closed (in all), first_cut/last_cut (seconds from opening to the close of those not
refused), other_status, other_ms (the slowest of the five /health answers)."""
import json
import selectors
import socket
import sys
import time
import urllib.request


def health(url):
    worst, status = 0.0, []
    for _ in range(5):
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                r.read()
                status.append(r.status)
        except Exception as e:  # refused, reset, timed out: the failure is the result
            status.append(str(e)[:60])
        worst = max(worst, time.monotonic() - t0)
    return status, round(worst * 1000, 1)


def main():
    mode, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 15.0
    other = sys.argv[5] if len(sys.argv) > 5 else None
    sel = selectors.DefaultSelector()
    opened_at, closed_at, conns = {}, {}, []
    for i in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        if mode == "slow":
            s.send(b"POST /v1/track HTTP/1.1\r\nHost: x\r\n")
        opened_at[s.fileno()] = time.monotonic()
        sel.register(s, selectors.EVENT_READ)
        conns.append(s)
    result = {"opened": n}
    if other:
        result["other_status"], result["other_ms"] = health(other)
    deadline = time.monotonic() + seconds
    next_line = time.monotonic() + 1
    while len(closed_at) < n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except (ConnectionResetError, BlockingIOError) as e:
                data = b"" if isinstance(e, ConnectionResetError) else None
            if data == b"":
                closed_at[s.fileno()] = time.monotonic()
                sel.unregister(s)
        if mode == "slow" and time.monotonic() >= next_line:
            next_line += 1
            for s in conns:
                if s.fileno() not in closed_at:
                    try:
                        s.send(b"X-Slow: %d\r\n" % int(time.monotonic()))
                    except OSError:
                        pass
    at_once = [f for f, t in closed_at.items() if t - opened_at[f] < 1.0]
    cut = sorted(t - opened_at[f] for f, t in closed_at.items() if t - opened_at[f] >= 1.0)
    result.update(closed_at_once=len(at_once), closed=len(closed_at),
                  first_cut=round(cut[0], 2) if cut else None,
                  last_cut=round(cut[-1], 2) if cut else None)
    print(json.dumps(result))
    for s in conns:
        s.close()


main()
