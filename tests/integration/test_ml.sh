#!/usr/bin/env bash
# Customer segments and churn on a simulated shop with planted personas: K-Means recovers
# the personas (adjusted Rand index >= 0.7), the churn scores rank the planted churners
# (AUC >= 0.85), and when the simulator shifts window shoppers into loyal high spenders
# between two snapshots, cluster_transitions shows that movement. Also: the stored model
# places a customer where the snapshot put them, a run is deterministic for its seed,
# k=auto, the jobs, and clear errors.
source "$(dirname "$0")/lib.sh"
cpa() { "$bin" "$@" --set data_dir="$tmp/a"; }
cpb() { "$bin" "$@" --set data_dir="$tmp/b"; }
csv() { "$bin" query --format csv "$2" --set data_dir="$tmp/$1"; }

# --- personas: 2,000 customers over 120 days ---
"$bin" simulate --customers 2000 --days 120 --seed 3 --out "$tmp/sa" --outputs events,truth --quiet
cpa ingest --quiet "$tmp/sa/events.jsonl"
mkdir -p "$tmp/empty"
check "segment on an empty store fails" bash -c "! '$bin' segment --set data_dir='$tmp/empty' 2> '$tmp/empty.err'"
check "  says why" grep -q "no events yet" "$tmp/empty.err"
cpa jobs run sessions > /dev/null
cpa segment --k 5 --lookback 120 > "$tmp/seg.out"
check "segment reports 5 segments" grep -q "in 5 segments" "$tmp/seg.out"
csv a "SELECT user_id, cluster, label FROM customer_segments ORDER BY user_id" > "$tmp/seg.csv"
csv a "SELECT cluster, label, customers FROM cluster_profiles ORDER BY cluster" > "$tmp/prof.csv"
cpa churn --days 30 > "$tmp/churn.out"
csv a "SELECT user_id, score FROM churn_scores ORDER BY user_id" > "$tmp/churn.csv"
csv a "SELECT kind, customers, k, auc, train_rows, positives FROM ml_runs ORDER BY kind" > "$tmp/runs.csv"
check "personas recovered, churners ranked" python3 - "$tmp" <<'PY'
import csv, collections, json, sys
from math import comb
d = sys.argv[1]
persona = json.load(open(f"{d}/sa/truth.json"))["customer_personas"]
seg = list(csv.DictReader(open(f"{d}/seg.csv")))
bad = []
def ari(a, b):
    n = len(a); t = collections.Counter(zip(a, b)); ca = collections.Counter(a); cb = collections.Counter(b)
    idx = sum(comb(v, 2) for v in t.values())
    sa = sum(comb(v, 2) for v in ca.values()); sb = sum(comb(v, 2) for v in cb.values())
    e = sa * sb / comb(n, 2); m = (sa + sb) / 2
    return (idx - e) / (m - e)
score = ari([persona[r["user_id"]] for r in seg], [r["cluster"] for r in seg])
print(f"adjusted Rand index {score:.3f}")
if score < 0.7: bad.append(f"ARI {score:.3f} < 0.7")
# Each persona's main cluster carries the label its behaviour earns.
main = {}
for p in set(persona.values()):
    main[p] = collections.Counter(r["label"] for r in seg if persona[r["user_id"]] == p).most_common(1)[0][0]
want = {"loyal_high_spender": "high-value loyal", "bargain_hunter": "bargain hunters",
        "window_shopper": "window shoppers", "churning": "lapsed", "regular": "regular buyers"}
for p, label in want.items():
    if main[p] != label: bad.append(f"{p} mostly in '{main[p]}', not '{label}'")
prof = list(csv.DictReader(open(f"{d}/prof.csv")))
sizes = collections.Counter(r["cluster"] for r in seg)
for r in prof:
    if int(r["customers"]) != sizes[r["cluster"]]: bad.append(f"profile size of {r['cluster']}")
if len(prof) != 5 or sum(sizes.values()) != len(seg): bad.append("profiles do not add up")
churn = list(csv.DictReader(open(f"{d}/churn.csv")))
pos = sorted(float(r["score"]) for r in churn if persona[r["user_id"]] == "churning")
neg = sorted(float(r["score"]) for r in churn if persona[r["user_id"]] != "churning")
import bisect
auc = sum(bisect.bisect_left(neg, p) + 0.5 * (bisect.bisect_right(neg, p) - bisect.bisect_left(neg, p)) for p in pos) / (len(pos) * len(neg))
print(f"churn AUC against the planted churners {auc:.3f}")
if auc < 0.85: bad.append(f"churn AUC {auc:.3f} < 0.85")
if len(churn) != len(seg): bad.append("not every customer scored")
runs = {r["kind"]: r for r in csv.DictReader(open(f"{d}/runs.csv"))}
if not 0.8 <= float(runs["churn"]["auc"]) <= 1: bad.append(f"held-out AUC {runs['churn']['auc']}")
if int(runs["churn"]["positives"]) <= 0 or int(runs["churn"]["train_rows"]) <= int(runs["churn"]["positives"]): bad.append("training labels")
if int(runs["kmeans"]["k"]) != 5 or int(runs["kmeans"]["customers"]) != len(seg): bad.append("kmeans run row")
for b in bad: print(b)
sys.exit(1 if bad else 0)
PY
check "churn prints the held-out AUC it recorded" grep -q "held-out AUC $(csv a "SELECT round(auc, 3) FROM ml_runs WHERE kind = 'churn'" | tail -1)" "$tmp/churn.out"
# The stored model places a customer where the snapshot put them.
for u in $(sed -n '2p;200p;900p;1500p' "$tmp/seg.csv" | cut -d, -f1); do
  want=$(grep "^$u," "$tmp/seg.csv" | cut -d, -f2)
  check "place $u" test "$(cpa segment --place "$u" | cut -f2)" = "$want"
done
check "place an unknown customer fails" bash -c "! '$bin' segment --place cus_nobody --set data_dir='$tmp/a' 2>/dev/null"
# The same seed and data give the same segments; the snapshot's rows are replaced.
cpa segment --k 5 --lookback 120 > /dev/null
check "deterministic for a seed" cmp -s "$tmp/seg.csv" <(csv a "SELECT user_id, cluster, label FROM customer_segments ORDER BY user_id")
check "a re-run replaces the snapshot" test "$(csv a "SELECT count(*) FROM cluster_profiles" | tail -1)" = 5
cpa segment --k auto --lookback 120 > "$tmp/auto.out"
k=$(csv a "SELECT k FROM ml_runs WHERE kind = 'kmeans' ORDER BY finished_at DESC LIMIT 1" | tail -1)
check "k=auto chooses k in 2..10 ($k)" test "$k" -ge 2 -a "$k" -le 10
check "k=auto records a silhouette" test "$(csv a "SELECT count(*) FROM ml_runs WHERE kind = 'kmeans' AND silhouette > 0" | tail -1)" = 3
check "churn without enough history fails clearly" bash -c "! '$bin' churn --days 200 --set data_dir='$tmp/a' 2> '$tmp/hist.err'"
check "  says why" grep -q "not enough history" "$tmp/hist.err"
check "jobs run segments" bash -c "'$bin' jobs run segments --set data_dir='$tmp/a' --set ml.k=4 | grep -q '^segments: ok'"
check "jobs run churn" bash -c "'$bin' jobs run churn --set data_dir='$tmp/a' | grep -q '^churn: ok'"
check "ml.k is checked" bash -c "! '$bin' segment --k many --set data_dir='$tmp/a' 2>/dev/null"

# --- movement: 30 % of the window shoppers become loyal high spenders mid-window ---
"$bin" simulate --customers 2000 --days 120 --seed 8 --shift-rate 0.3 --out "$tmp/sb" --outputs events,truth --quiet
cpb ingest --quiet "$tmp/sb/events.jsonl"
cpb jobs run sessions > /dev/null
cp -r "$tmp/b" "$tmp/c"
first=$(python3 -c "import json,datetime; t=json.load(open('$tmp/sb/truth.json')); print(datetime.date.fromisoformat(t['params']['start']) + datetime.timedelta(days=59))")
cpb segment --k 5 --lookback 56 --snapshot "$first" > /dev/null
cpb segment --k 5 --lookback 56 > "$tmp/move.out"
csv b "SELECT a.user_id, a.cluster AS c1, b.cluster AS c2 FROM customer_segments a JOIN customer_segments b USING (user_id) WHERE a.snapshot = DATE '$first' AND b.snapshot > a.snapshot" > "$tmp/pairs.csv"
csv b "SELECT from_cluster, to_cluster, customers FROM cluster_transitions ORDER BY ALL" > "$tmp/trans.csv"
csv b "SELECT coalesce(CAST(p.cluster AS VARCHAR), '') AS from_cluster, c.cluster AS to_cluster, count(*) AS customers FROM customer_segments c LEFT JOIN customer_segments p ON p.user_id = c.user_id AND p.snapshot = DATE '$first' WHERE c.snapshot > DATE '$first' GROUP BY ALL ORDER BY ALL" > "$tmp/recount.csv"
check "transitions equal a recount of the segments" python3 - "$tmp" <<'PY'
import csv, sys
d = sys.argv[1]
a = sorted((r["from_cluster"], r["to_cluster"], r["customers"]) for r in csv.DictReader(open(f"{d}/trans.csv")))
b = sorted((r["from_cluster"], r["to_cluster"], r["customers"]) for r in csv.DictReader(open(f"{d}/recount.csv")))
sys.exit(0 if a == b and a else 1)
PY
check "the shifted customers' movement shows" python3 - "$tmp" <<'PY'
import csv, collections, json, sys
d = sys.argv[1]
t = json.load(open(f"{d}/sb/truth.json"))
persona, shifts = t["customer_personas"], t["persona_shifts"]
pairs = list(csv.DictReader(open(f"{d}/pairs.csv")))
loyal1 = collections.Counter(r["c1"] for r in pairs if persona[r["user_id"]] == "loyal_high_spender").most_common(1)[0][0]
loyal2 = collections.Counter(r["c2"] for r in pairs if persona[r["user_id"]] == "loyal_high_spender").most_common(1)[0][0]
moved = [r for r in pairs if r["user_id"] in shifts]
stay = [r for r in pairs if persona[r["user_id"]] == "window_shopper" and r["user_id"] not in shifts]
into = sum(r["c2"] == loyal2 for r in moved) / len(moved)
before = sum(r["c1"] == loyal1 for r in moved) / len(moved)
others = sum(r["c2"] == loyal2 for r in stay) / len(stay)
print(f"{len(moved)} shifted: {into:.0%} in the loyal segment after, {before:.0%} before; other window shoppers {others:.1%}")
trans = {(r["from_cluster"], r["to_cluster"]): int(r["customers"]) for r in csv.DictReader(open(f"{d}/trans.csv"))}
flow = sum(v for (f, to), v in trans.items() if to == loyal2 and f not in ("", loyal1))
need = sum(r["c2"] == loyal2 and r["c1"] != loyal1 for r in moved)
ok = len(moved) >= 100 and into >= 0.85 and before <= 0.1 and others <= 0.05 and flow >= need
sys.exit(0 if ok else 1)
PY
moved=$(csv b "SELECT moved FROM ml_runs WHERE kind = 'kmeans' ORDER BY snapshot DESC LIMIT 1" | tail -1)
check "the run counts the customers who moved ($moved)" test "$moved" = "$(csv b "SELECT count(*) FROM customer_segments a JOIN customer_segments b USING (user_id) WHERE a.snapshot = DATE '$first' AND b.snapshot > a.snapshot AND a.cluster <> b.cluster" | tail -1)"
check "segment prints the movement" grep -q "customers moved to another segment" "$tmp/move.out"
last=$(csv b "SELECT max(snapshot) FROM customer_segments" | tail -1)
"$bin" segment --k 5 --lookback 56 --snapshot "$first,$last" --set data_dir="$tmp/c" > "$tmp/both.out"
check "several snapshots in one run: a line each" test "$(grep -c '^snapshot ' "$tmp/both.out")" = 2
for t in "snapshot, user_id, cluster, label FROM customer_segments" "from_snapshot, to_snapshot, from_cluster, to_cluster, customers FROM cluster_transitions" "snapshot, cluster, label, customers FROM cluster_profiles"; do
  check "several snapshots in one run: ${t##* FROM } as one run each" test "$(csv b "SELECT $t ORDER BY ALL" | md5sum)" = "$(csv c "SELECT $t ORDER BY ALL" | md5sum)"
done
check "--snapshot with a bad date in the list" bash -c "! '$bin' segment --snapshot '$first,2026-13-01' --set data_dir='$tmp/c' 2> '$tmp/bad.err' && grep -q 'expected a date' '$tmp/bad.err'"
check "churn takes one date" bash -c "! '$bin' churn --snapshot '$first,$last' --set data_dir='$tmp/c' 2> /dev/null"
finish
