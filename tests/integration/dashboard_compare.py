#!/usr/bin/env python3
"""Every dashboard page's numbers, as /api/v1/pages/NAME returns them, against the
store: the raw silver, gold and ML rows are read with SQL through /api/v1/query and
the page's figures recomputed here, independently, for each filter combination;
with no filters the pages must also agree with the gold marts the models built.
usage: dashboard_compare.py API_BASE TOKEN FROM TO  (prints FAIL lines; exit 1 on any)"""
import bisect, collections, datetime as dt, json, statistics, sys, urllib.parse, urllib.request
from decimal import Decimal

base, token, d0, d1 = sys.argv[1:5]
fails = []


def get(path, body=None):
    req = urllib.request.Request(base + path, data=body.encode() if body else None,
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def q(sql):
    return get("/api/v1/query?format=json&wait_ms=0", sql)


def page(name, **p):
    body = get(f"/api/v1/pages/{name}?" + urllib.parse.urlencode({k: v for k, v in p.items() if v}))
    if body["errors"]:
        fails.append(f"{name} {p}: errors {body['errors']}")
    return body["datasets"]


TOL = {"revenue": .0101, "avg_order_value": .0101, "revenue_per_session": .0101, "total_spent": .0101,
       "avg_duration_s": .0501, "median_duration_s": .0501, "avg_events": .0101, "avg_pageviews": .0101,
       "recency_days": .0501, "tenure_days": .0501, "avg_score": .000101}


def same(a, b, key):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= TOL.get(key, .000101 if isinstance(a, float) or isinstance(b, float) else 0)
    return a == b


def compare(what, got, want, keys=None):
    if len(got) != len(want):
        fails.append(f"{what}: {len(got)} rows, want {len(want)}")
        return
    for i, (g, w) in enumerate(zip(got, want)):
        for k in keys or w.keys():
            if not same(g.get(k), w[k], k):
                fails.append(f"{what} row {i} {k}: {g.get(k)!r}, want {w[k]!r} ({w})")
                return


def by(rows, key):
    return sorted(rows, key=lambda r: str(r[key]))


def ms(t):
    return int(dt.datetime.fromisoformat(t).replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def rate(a, b):
    return a / b if b else None


# ---- the store's rows ----
sessions = q("SELECT session_id, identity, user_id, CAST(start_time AS VARCHAR) AS start_time,"
             " CAST(start_date AS VARCHAR) AS day, duration_s, events, pageviews, is_bot, product_view,"
             " cart, checkout, purchase, landing_path, utm_source, utm_medium, utm_campaign, country,"
             " device_type FROM sessions")
for s in sessions:
    s["t"] = ms(s["start_time"])
    s["dims"] = (s["country"] or "unknown", s["device_type"] or "unknown", s["utm_source"] or "(direct)")
    s["people"] = not s["is_bot"] and s["pageviews"] > 0
by_identity = collections.defaultdict(list)
for s in sorted(sessions, key=lambda s: s["t"]):
    by_identity[s["identity"]].append(s)


def session_of(identity, t):
    """The identity's latest session to start at or before t."""
    ss = by_identity.get(identity, [])
    i = bisect.bisect_right([s["t"] for s in ss], t)
    return ss[i - 1] if i else None


orders = q("SELECT o.\"offset\", o.order_id, o.user_id, CAST(o.event_time AS VARCHAR) AS event_time,"
           " CAST(o.event_date AS VARCHAR) AS day, CAST(o.revenue AS VARCHAR) AS revenue, o.units, o.country,"
           " e.identity FROM orders o LEFT JOIN events e ON e.\"offset\" = o.\"offset\""
           " AND e.message_id = o.message_id")
for o in orders:
    s = session_of(o["identity"], ms(o["event_time"]))
    o["revenue"] = Decimal(o["revenue"])
    o["dims"] = (o["country"] or "unknown",) + (s["dims"][1:] if s else ("unknown", "(direct)"))
    o["session"] = s
order_by_id = {o["order_id"]: o for o in sorted(orders, key=lambda o: -o["offset"])}
refunds = q("SELECT order_id, CAST(event_date AS VARCHAR) AS day, CAST(amount AS VARCHAR) AS amount, country"
            " FROM refunds_reporting")
for f in refunds:  # a refund by its order: the order's country, device and source
    o = order_by_id.get(f["order_id"])
    f["amount"] = Decimal(f["amount"]) if f["amount"] is not None else None
    f["dims"] = o["dims"] if o else (f["country"] or "unknown", "unknown", "(direct)")
items = q("SELECT \"offset\", order_id, product_id, name, category, CAST(price AS VARCHAR) AS price, quantity"
          " FROM order_items")
views = q("SELECT kind, identity, CAST(event_time AS VARCHAR) AS event_time, CAST(event_date AS VARCHAR) AS day,"
          " page_path, country, device_type, json_extract_string(properties, '$.category') AS category,"
          " json_extract_string(properties, '$.product_id') AS product_id,"
          " json_extract_string(properties, '$.name') AS name FROM events"
          " WHERE kind IN ('page', 'product_viewed') AND NOT coalesce(is_bot, false)")
for v in views:
    s = session_of(v["identity"], ms(v["event_time"]))
    v["dims"] = (s["country"] or v["country"] or "unknown", s["device_type"] or v["device_type"] or "unknown",
                 s["utm_source"] or "(direct)") if s else (v["country"] or "unknown", v["device_type"] or "unknown",
                                                           "(direct)")
customers = q("SELECT user_id, CAST(first_seen AS VARCHAR) AS first_seen, CAST(last_seen AS VARCHAR) AS last_seen,"
              " country FROM customers")
linked = {r["anonymous_id"]: r["user_id"] for r in q("SELECT anonymous_id, user_id FROM identity_map")}
for s in sessions:  # a customer's sessions: theirs, or of a device linked to them
    s["person"] = s["user_id"] or linked.get(s["identity"])
first = {}
for s in sorted((s for s in sessions if s["people"] and s["person"]), key=lambda s: s["t"]):
    if s["person"] not in first:  # the first session's own values, NULL ones too
        first[s["person"]] = {k: s[k] for k in ("utm_source", "utm_medium", "utm_campaign", "device_type")
                              if s[k] is not None}
for c in customers:
    f = first.get(c["user_id"], {})
    c["day"] = c["first_seen"][:10]
    c["dims"] = (c["country"] or "unknown", f.get("device_type", "unknown"), f.get("utm_source", "(direct)"))
    c["medium"], c["campaign"] = f.get("utm_medium", "(none)"), f.get("utm_campaign", "(none)")
dim_customers = {r["user_id"]: r for r in q("SELECT user_id, segment, orders, total_spent FROM gold.dim_customers")}
segs = q("SELECT CAST(snapshot AS VARCHAR) AS snapshot, user_id, cluster, label FROM customer_segments")
profiles = q("SELECT CAST(snapshot AS VARCHAR) AS snapshot, cluster, label, customers FROM cluster_profiles")
churn = q("SELECT CAST(snapshot AS VARCHAR) AS snapshot, user_id, score, risk FROM churn_scores")
cdims = {c["user_id"]: c["dims"] for c in customers}


def matches(dims, f):
    return all(w is None or d == w for d, w in zip(dims, f))


def add_days(day, n):
    return (dt.date.fromisoformat(day) + dt.timedelta(days=n)).isoformat()


def days(a, b):
    return [add_days(a, i) for i in range((dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days + 1)]


def money(x):
    return float(round(x, 2)) if x is not None else None


def check_filters(a, b, f):
    label = f"{a}..{b} {f}"
    P = [s for s in sessions if s["people"] and a <= s["day"] <= b and matches(s["dims"], f)]
    O = [o for o in orders if a <= o["day"] <= b and matches(o["dims"], f)]
    params = dict(zip(("from", "to", "country", "device", "source"), (a, b) + f))

    def kpis(a, b):
        P = [s for s in sessions if s["people"] and a <= s["day"] <= b and matches(s["dims"], f)]
        O = [o for o in orders if a <= o["day"] <= b and matches(o["dims"], f)]
        rev = sum((o["revenue"] for o in O), Decimal(0))
        return {"sessions": len(P), "visitors": len({s["identity"] for s in P}),
                "conversion": rate(sum(s["purchase"] for s in P), len(P)), "orders": len(O), "revenue": money(rev),
                "avg_order_value": money(rev / len(O)) if O else None,
                "buyers": len({o["user_id"] for o in O if o["user_id"]}),
                "new_customers": sum(1 for c in customers if a <= c["day"] <= b and matches(c["dims"], f))}

    n = len(days(a, b))
    d = page("overview", **params)
    compare(f"overview.kpis {label}", d["kpis"], [dict(period="current", **kpis(a, b)),
                                                   dict(period="previous", **kpis(add_days(a, -n), add_days(a, -1)))])
    daily = {day: {"day": day, "sessions": 0, "orders": 0, "revenue": Decimal(0)} for day in days(a, b)}
    for s in P:
        daily[s["day"]]["sessions"] += 1
    for o in O:
        daily[o["day"]]["orders"] += 1
        daily[o["day"]]["revenue"] += o["revenue"]
    compare(f"overview.daily {label}", d["daily"], [dict(r, revenue=money(r["revenue"])) for r in daily.values()])

    d = page("sales", **params)
    rev = sum((o["revenue"] for o in O), Decimal(0))
    F = [r for r in refunds if a <= r["day"] <= b and matches(r["dims"], f)]
    back = sum((r["amount"] for r in F if r["amount"] is not None), Decimal(0))
    compare(f"sales.totals {label}", d["totals"], [{"orders": len(O), "units": sum(o["units"] for o in O),
            "revenue": money(rev), "customers": len({o["user_id"] for o in O if o["user_id"]}),
            "avg_order_value": money(rev / len(O)) if O else None, "refund_count": len(F),
            "refunds": money(back), "net_revenue": money(rev - back)}])
    per, per_f = collections.defaultdict(list), collections.defaultdict(list)
    for o in O:
        per[o["day"]].append(o)
    for r in F:
        per_f[r["day"]].append(r)

    def sales_day(k, v, w):
        gross = sum((o["revenue"] for o in v), Decimal(0))
        back = sum((r["amount"] for r in w if r["amount"] is not None), Decimal(0))
        return {"day": k, "orders": len(v), "units": sum(o["units"] for o in v), "revenue": money(gross),
                "customers": len({o["user_id"] for o in v if o["user_id"]}),
                "avg_order_value": money(gross / len(v)) if v else None, "refund_count": len(w),
                "refunds": money(back), "net_revenue": money(gross - back)}
    compare(f"sales.daily {label}", d["daily"],
            [sales_day(k, per.get(k, []), per_f.get(k, [])) for k in sorted(set(per) | set(per_f))])

    d = page("countries", **params)
    cs = collections.defaultdict(lambda: {"orders": 0, "revenue": Decimal(0), "users": set(), "sessions": 0, "conv": 0})
    for o in O:
        c = cs[o["dims"][0]]
        c["orders"] += 1
        c["revenue"] += o["revenue"]
        if o["user_id"]:
            c["users"].add(o["user_id"])
    for s in P:
        cs[s["dims"][0]]["sessions"] += 1
        cs[s["dims"][0]]["conv"] += s["purchase"]
    want = [{"country": k, "orders": c["orders"], "revenue": money(c["revenue"]), "customers": len(c["users"]),
             "avg_order_value": money(c["revenue"] / c["orders"]) if c["orders"] else None, "sessions": c["sessions"],
             "conversion": rate(c["conv"], c["sessions"])} for k, c in cs.items()]
    compare(f"countries {label}", by(d["countries"], "country"), by(want, "country"))

    def funnel(rows):
        n = [len(rows), sum(s["product_view"] for s in rows), sum(s["product_view"] and s["cart"] for s in rows),
             sum(s["product_view"] and s["cart"] and s["checkout"] for s in rows),
             sum(s["product_view"] and s["cart"] and s["checkout"] and s["purchase"] for s in rows)]
        return n, rate(sum(s["purchase"] for s in rows), len(rows))
    d = page("funnel", **params)
    n, _ = funnel(P)
    compare(f"funnel.steps {label}", d["steps"], [{"step": i + 1, "sessions": n[i], "of_start": rate(n[i], n[0]),
            "of_previous": rate(n[i], n[max(i - 1, 0)]), "dropped": n[max(i - 1, 0)] - n[i]} for i in range(5)])
    for ds, k, i in (("by_device", "device", 1), ("by_source", "source", 2)):
        groups = collections.defaultdict(list)
        for s in P:
            groups[s["dims"][i]].append(s)
        want = []
        for key, rows in groups.items():
            n, conv = funnel(rows)
            want.append(dict(zip((k, "sessions", "product_view", "cart", "checkout", "purchase", "conversion"), [key] + n + [conv])))
        compare(f"funnel.{ds} {label}", by(d[ds], k), by(want, k))

    d = page("sessions", **params)
    dur = [s["duration_s"] for s in P]
    compare(f"sessions.totals {label}", d["totals"], [{"sessions": len(P), "visitors": len({s["identity"] for s in P}),
            "avg_duration_s": statistics.mean(dur) if dur else None, "median_duration_s": statistics.median(dur) if dur else None,
            "avg_events": statistics.mean(s["events"] for s in P) if P else None,
            "avg_pageviews": statistics.mean(s["pageviews"] for s in P) if P else None,
            "bounce_rate": rate(sum(s["pageviews"] == 1 for s in P), len(P))}])
    edges = [0, 10, 30, 60, 180, 600, 1800, None]
    compare(f"sessions.duration {label}", d["duration"], [{"bucket": i + 1, "sessions": sum(
        1 for x in dur if x >= edges[i] and (edges[i + 1] is None or x < edges[i + 1]))} for i in range(7)])
    wide = [s for s in sessions if s["people"] and add_days(a, -29) <= s["day"] <= b and matches(s["dims"], f)]
    compare(f"sessions.active {label}", d["active"], [{"day": day,
            "dau": len({s["identity"] for s in wide if s["day"] == day}),
            "wau": len({s["identity"] for s in wide if add_days(day, -6) <= s["day"] <= day}),
            "mau": len({s["identity"] for s in wide if add_days(day, -29) <= s["day"] <= day})} for day in days(a, b)])

    d = page("conversion", **params)
    for ds, k, i in (("by_source", "source", 2), ("by_device", "device", 1)):
        g = collections.defaultdict(lambda: {"sessions": 0, "converted": 0, "orders": 0, "revenue": Decimal(0)})
        for s in P:
            g[s["dims"][i]]["sessions"] += 1
            g[s["dims"][i]]["converted"] += s["purchase"]
        for o in O:
            g[o["dims"][i]]["orders"] += 1
            g[o["dims"][i]]["revenue"] += o["revenue"]
        want = [{k: key, "sessions": v["sessions"], "converted": v["converted"], "conversion": rate(v["converted"], v["sessions"]),
                 "orders": v["orders"], "revenue": money(v["revenue"]),
                 "revenue_per_session": money(v["revenue"] / v["sessions"]) if v["sessions"] else None} for key, v in g.items()]
        compare(f"conversion.{ds} {label}", by(d[ds], k), by(want, k))

    d = page("acquisition", **params)
    new = [c for c in customers if a <= c["day"] <= b and matches(c["dims"], f)]
    compare(f"acquisition.totals {label}", d["totals"], [{"new_customers": len(new)}])
    cnt = collections.Counter(c["day"] for c in new)
    compare(f"acquisition.daily {label}", d["daily"], [{"day": k, "new_customers": v} for k, v in sorted(cnt.items())])
    cnt = collections.Counter((c["dims"][2], c["medium"], c["campaign"]) for c in new)
    got = {(r["utm_source"], r["utm_medium"], r["utm_campaign"]): r["new_customers"] for r in d["campaigns"]}
    if got != dict(cnt):
        fails.append(f"acquisition.campaigns {label}: {got} != {dict(cnt)}")

    d = page("content", **params)
    V = [v for v in views if a <= v["day"] <= b and matches(v["dims"], f)]
    pv = collections.defaultdict(list)
    for v in V:
        if v["kind"] == "page":
            pv[v["page_path"] or "(none)"].append(v["identity"])
    want = sorted(({"page_path": k, "pageviews": len(x), "visitors": len(set(x))} for k, x in pv.items()),
                  key=lambda r: (-r["pageviews"], r["page_path"]))[:50]
    compare(f"content.pages {label}", d["pages"], want)
    offsets = {(o["offset"], o["order_id"]): o for o in O}
    cat = collections.defaultdict(lambda: {"views": 0, "viewers": set(), "units": 0, "revenue": Decimal(0), "buyers": set()})
    for v in V:
        if v["kind"] == "product_viewed":
            cat[v["category"] or "(none)"]["views"] += 1
            cat[v["category"] or "(none)"]["viewers"].add(v["identity"])
    for i in items:
        o = offsets.get((i["offset"], i["order_id"]))
        if o:
            c = cat[i["category"] or "(none)"]
            c["units"] += i["quantity"]
            c["revenue"] += Decimal(i["price"]) * i["quantity"]
            if o["user_id"]:
                c["buyers"].add(o["user_id"])
    want = [{"category": k, "product_views": c["views"], "viewers": len(c["viewers"]), "units": c["units"],
             "revenue": money(c["revenue"]), "buyers": len(c["buyers"])} for k, c in cat.items()]
    compare(f"content.categories {label}", by(d["categories"], "category"), by(want, "category"))

    d = page("customers", **params)
    people = [c for c in customers if c["first_seen"][:10] <= b and c["last_seen"][:10] >= a and matches(c["dims"], f)]
    g = collections.defaultdict(lambda: [0, 0, 0.0])
    for c in people:
        dc = dim_customers.get(c["user_id"])
        if dc:
            g[dc["segment"]][0] += 1
            g[dc["segment"]][1] += dc["orders"]
            g[dc["segment"]][2] += dc["total_spent"]
    total = sum(v[0] for v in g.values())
    want = [{"segment": k, "customers": v[0], "share": v[0] / total, "orders": v[1], "revenue": round(v[2], 2)} for k, v in g.items()]
    compare(f"customers.segments {label}", by(d["segments"], "segment"), by(want, "segment"))
    firsts = {}
    for o in sorted((o for o in O if o["user_id"]), key=lambda o: o["event_time"]):
        firsts.setdefault(o["user_id"], o["event_time"][:7])
    sizes = collections.Counter(firsts.values())
    active = {(firsts[o["user_id"]], o["user_id"], (int(o["event_time"][:4]) - int(firsts[o["user_id"]][:4])) * 12
               + int(o["event_time"][5:7]) - int(firsts[o["user_id"]][5:7])) for o in O if o["user_id"]}
    cnt = collections.Counter((c, m) for c, _, m in active)
    compare(f"customers.cohorts {label}", d["cohorts"], [{"cohort": c + "-01", "months_since": m, "customers": v,
            "retention": v / sizes[c]} for (c, m), v in sorted(cnt.items())])

    d = page("segments", **params)
    snaps = sorted({p["snapshot"] for p in profiles})
    cur = max((s for s in snaps if a <= s <= b), default=None)
    prev = max((s for s in snaps if cur and s < cur), default=None)
    inside = [s for s in segs if s["snapshot"] == cur and matches(cdims.get(s["user_id"], (None,) * 3), f)]
    cnt = collections.Counter(s["cluster"] for s in inside)
    compare(f"segments.profiles {label}", d["profiles"], [{"cluster": p["cluster"], "label": p["label"],
            "customers": cnt.get(p["cluster"], 0), "model_customers": p["customers"]}
            for p in sorted((p for p in profiles if p["snapshot"] == cur), key=lambda p: p["cluster"])])
    before = {s["user_id"]: s for s in segs if s["snapshot"] == prev}
    moves = collections.Counter((before[s["user_id"]]["label"] if s["user_id"] in before else "new", s["label"],
                                 before[s["user_id"]]["cluster"] if s["user_id"] in before else None, s["cluster"]) for s in inside)
    got = {(r["from_label"], r["to_label"], r["from_cluster"], r["to_cluster"]): r["customers"] for r in d["movement"]}
    if got != dict(moves):
        fails.append(f"segments.movement {label}: {got} != {dict(moves)}")
    csnap = max((r["snapshot"] for r in churn if a <= r["snapshot"] <= b), default=None)
    risk = collections.defaultdict(list)
    for r in churn:
        if r["snapshot"] == csnap and matches(cdims.get(r["user_id"], (None,) * 3), f):
            risk[r["risk"]].append(r["score"])
    compare(f"segments.churn {label}", by(d["churn"], "risk"), by([{"risk": k, "customers": len(v),
            "avg_score": statistics.mean(v)} for k, v in risk.items()], "risk"))
    return d


def gold_matches(a, b):
    """No filters: the pages agree with the gold marts the models built."""
    def mart(sql):
        return q(sql)
    d = page("sales", **{"from": a, "to": b})
    compare("sales.daily = daily_sales_summary", d["daily"], mart(
        f"SELECT CAST(day AS VARCHAR) AS day, orders, units, revenue, customers, avg_order_value,"
        f" refund_count, refunds, net_revenue"
        f" FROM gold.daily_sales_summary WHERE day BETWEEN DATE '{a}' AND DATE '{b}' ORDER BY day"))
    d = page("countries", **{"from": "2020-01-01", "to": "2029-12-31"})
    compare("countries = country_summary", by([r for r in d["countries"] if r["orders"]], "country"),
            by(mart("SELECT country, orders, revenue, customers, avg_order_value FROM gold.country_summary"), "country"))
    d = page("funnel", **{"from": a, "to": b})
    fd = mart(f"SELECT sum(sessions) AS s, sum(product_view) AS p, sum(cart) AS c, sum(checkout) AS k, sum(purchase) AS u"
              f" FROM gold.funnel_daily WHERE day BETWEEN DATE '{a}' AND DATE '{b}'")[0]
    compare("funnel.steps = funnel_daily", d["steps"], [{"sessions": v} for v in (fd["s"], fd["p"], fd["c"], fd["k"], fd["u"])])
    d = page("acquisition", **{"from": "2020-01-01", "to": "2029-12-31"})
    acq = {(r["utm_source"], r["utm_medium"], r["utm_campaign"]): r["n"] for r in mart(
        "SELECT utm_source, utm_medium, utm_campaign, sum(new_customers) AS n FROM gold.acquisition GROUP BY ALL")}
    if {(r["utm_source"], r["utm_medium"], r["utm_campaign"]): r["new_customers"] for r in d["campaigns"]} != acq:
        fails.append("acquisition.campaigns != gold.acquisition")
    d = page("customers", **{"from": "2020-01-01", "to": "2029-12-31"})
    compare("customers.cohorts = retention_cohorts", d["cohorts"], mart(
        "SELECT CAST(CAST(cohort AS DATE) AS VARCHAR) AS cohort, months_since, customers, retention"
        " FROM gold.retention_cohorts ORDER BY 1, 2"))
    d = page("conversion", **{"from": "2020-01-01", "to": "2029-12-31"})
    compare("conversion.by_device = conversion_insights", by(d["by_device"], "device"), by(mart(
        "SELECT device_type AS device, sum(sessions) AS sessions, sum(converted) AS converted"
        " FROM gold.conversion_insights GROUP BY 1"), "device"))
    d = page("segments", **{"from": a, "to": b})
    tr = mart("SELECT from_label, to_label, from_cluster, to_cluster, customers FROM cluster_transitions"
              " WHERE to_snapshot = (SELECT max(snapshot) FROM cluster_profiles"
              f" WHERE snapshot BETWEEN DATE '{a}' AND DATE '{b}')")
    key = lambda r: (r["from_label"], r["to_label"], str(r["from_cluster"]), r["to_cluster"])
    compare("segments.movement = cluster_transitions", sorted(d["movement"], key=key), sorted(tr, key=key))


d0f = "2026-03-01"
combos = [(None, None, None), ("DE", None, None), (None, "mobile", None), ("US", "desktop", "google"),
          (None, None, "(direct)")]
for f in combos:
    check_filters(d0, d1, f)
check_filters(d0f, d1, ("GB", None, None))
gold_matches(d0, d1)
# the filters narrow: what each value shows adds up to the whole
whole = page("sales", **{"from": d0, "to": d1})["totals"][0]["orders"]
devices = {v["value"] for v in page("filters")["values"] if v["dim"] == "device"} | {"unknown"}
parts = sum(page("sales", **{"from": d0, "to": d1, "device": v})["totals"][0]["orders"] for v in devices)
if parts != whole or whole == 0:
    fails.append(f"orders by device add up to {parts}, want {whole}")
for line in fails:
    print("FAIL:", line)
print(f"{len(combos) + 1} filter combinations compared; {len(fails)} differences")
sys.exit(1 if fails else 0)
