#!/usr/bin/env python3
"""Connection floods for test_hardening_connections.sh, on real sockets.

usage: flood.py MODE PORT N SECONDS [--from ADDR] [--health URL[,SOURCE_ADDR]]...
  idle  opens N connections from ADDR (default 127.0.0.1) to PORT that send nothing
  slow  the same, each sending a request line, then one header line a second (never
        the blank line that ends the headers)
Each connection's fate is watched until every one is closed or SECONDS pass. Meanwhile,
once all are open, each --health URL is asked five times (from SOURCE_ADDR when given);
the answers' status and the slowest latency are measured.
Prints one JSON line: opened, closed_at_once (closed within 0.5 s of opening: refused),
closed (in all), first_cut/last_cut (seconds from opening to the close of those not
refused), health: [{url, status: [...], worst_ms}]."""
import http.client
import json
import selectors
import socket
import sys
import time
from urllib.parse import urlsplit


def health(spec):
    url, _, src = spec.partition(",")
    u = urlsplit(url)
    times, status = [], []
    for _ in range(5):
        t0 = time.monotonic()
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=5,
                                           source_address=(src, 0) if src else None)
            c.request("GET", u.path)
            r = c.getresponse()
            r.read()
            status.append(r.status)
            c.close()
        except Exception as e:  # refused, reset, timed out: the failure is the result
            status.append(type(e).__name__)
        times.append(time.monotonic() - t0)
    times.sort()
    return {"url": spec, "status": status, "median_ms": round(times[2] * 1000, 1),
            "worst_ms": round(times[-1] * 1000, 1)}


def main():
    mode, port, n, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    src, checks, rest = "127.0.0.1", [], sys.argv[5:]
    while rest:
        opt, val, rest = rest[0], rest[1], rest[2:]
        if opt == "--from":
            src = val
        elif opt == "--health":
            checks.append(val)
        else:
            sys.exit(f"unknown option {opt}")
    sel = selectors.DefaultSelector()
    opened_at, closed_at, conns = {}, {}, []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        if mode == "slow":
            s.send(b"POST /v1/track HTTP/1.1\r\nHost: x\r\n")
        opened_at[s.fileno()] = time.monotonic()
        sel.register(s, selectors.EVENT_READ)
        conns.append(s)
    result = {"opened": n, "health": [health(c) for c in checks]}
    deadline = time.monotonic() + seconds
    next_line = time.monotonic() + 1
    while len(closed_at) < n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            except BlockingIOError:
                continue
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
    at_once = [f for f, t in closed_at.items() if t - opened_at[f] < 0.5]
    cut = sorted(t - opened_at[f] for f, t in closed_at.items() if t - opened_at[f] >= 0.5)
    result.update(closed_at_once=len(at_once), closed=len(closed_at),
                  first_cut=round(cut[0], 2) if cut else None,
                  last_cut=round(cut[-1], 2) if cut else None)
    print(json.dumps(result))
    for s in conns:
        s.close()


main()
