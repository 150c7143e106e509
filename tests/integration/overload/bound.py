"""The process's memory bound as docs/security.md (Memory) sums it, from the settings:
bound.py STORE QUEUE DEDUP LIVE COLLECTOR_CONNECTIONS REQUEST_BYTES API_CONNECTIONS
QUERY_MAX_BYTES CPUS; sizes as the configuration writes them (KB, MB, GB: powers of 1024)."""
import sys

UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


def size(text):
    for unit in ("KB", "MB", "GB", "B"):
        if text.endswith(unit):
            return int(text[: -len(unit)]) * UNITS[unit]
    return int(text)


store, queue, dedup, live, conns, body, api_conns, answer, cpus = sys.argv[1:10]
servers = 2 * min(max(int(cpus), 1), 16)
parts = {
    "the program": 128 << 20,
    "DuckDB": size(store),
    "the queue for silver": size(queue) + max(size(queue) // 4, 1 << 20),
    "the dedup table": size(dedup),
    "the dedup store on disk": 40 << 20,
    "the live view": 2 * size(live) + 2 * 1500 * (16 << 10),
    "collector connections": int(conns) * (16 << 10) + int(conns) * 2 * size(body),
    "collector decoding": servers * 3 * size(body),
    "API answers": 4 * size(answer),
    "API connections": int(api_conns) * ((256 << 10) + (1 << 20)),
}
print(sum(parts.values()))
