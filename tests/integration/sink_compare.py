"""Compares a table of the store with what a sink delivered, exactly: the destination's
rows, exported as CSV with a header and \\N for NULL, are read back by DuckDB with the
store's column types, and the two sides are compared as multisets (EXCEPT ALL both
ways). With --seconds, timestamps are compared to the second (ClickHouse before 20.1
has DateTime only). Prints "TABLE: N rows, M differences"; exit status 1 on any.

usage: sink_compare.py CLICKPULSE DATA_DIR TABLE CSV [--seconds]
"""
import json
import subprocess
import sys

clickpulse, data_dir, table, csv_path = sys.argv[1:5]
seconds = "--seconds" in sys.argv[5:]
INTERNAL = {"msg_hash", "delivery_hash", "visitors_hll"}
SCALARS = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "DOUBLE", "FLOAT",
           "BOOLEAN", "DATE", "TIMESTAMP", "VARCHAR", "DECIMAL")


def query(sql):
    out = subprocess.run([clickpulse, "query", "--set", "data_dir=" + data_dir, "--format", "json",
                          sql], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


schema, name = table.split(".") if "." in table else ("main", table)
cols = [(c["column_name"], c["data_type"]) for c in query(
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
    f"'{schema}' AND table_name = '{name}' ORDER BY ordinal_position")
    if c["column_name"] not in INTERNAL]
if not cols:
    sys.exit(f"{table}: no such table in the store")


def q(n):
    return '"' + n.replace('"', '""') + '"'


read_types, src, dest = [], [], []
for n, t in cols:
    scalar = t.startswith(SCALARS)
    read_types.append(f"'{n}': '{t if scalar else 'VARCHAR'}'")
    expr = q(n) if scalar else f"CAST({q(n)} AS VARCHAR)"
    if seconds and t.startswith("TIMESTAMP"):
        expr = f"date_trunc('second', {q(n)})"
    src.append(f"{expr} AS {q(n)}")
    dest.append(q(n))
reader = (f"read_csv('{csv_path}', header = true, nullstr = '\\N', auto_detect = false, "
          f"quote = '\"', escape = '\"', columns = {{{', '.join(read_types)}}})")
sql = (f"WITH s AS (SELECT {', '.join(src)} FROM {table}), d AS (SELECT {', '.join(dest)} "
       f"FROM {reader}) SELECT (SELECT count(*) FROM s) AS rows, (SELECT count(*) FROM d) AS "
       "delivered, (SELECT count(*) FROM (SELECT * FROM s EXCEPT ALL SELECT * FROM d)) + "
       "(SELECT count(*) FROM (SELECT * FROM d EXCEPT ALL SELECT * FROM s)) AS differences")
r = query(sql)[0]
print(f"{table}: {r['rows']} rows, {r['delivered']} delivered, {r['differences']} differences")
if r["differences"]:
    for side, a, b in (("only in the store", "s", "d"), ("only delivered", "d", "s")):
        for row in query(f"WITH s AS (SELECT {', '.join(src)} FROM {table}), d AS (SELECT "
                         f"{', '.join(dest)} FROM {reader}) SELECT * FROM (SELECT * FROM {a} "
                         f"EXCEPT ALL SELECT * FROM {b}) LIMIT 3"):
            print(f"  {side}: {row}")
sys.exit(0 if r["differences"] == 0 and r["rows"] == r["delivered"] else 1)
