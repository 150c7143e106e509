#!/usr/bin/env python3
"""Write a JSON Lines file of documented corner cases for compare.py (every line has receivedAt,
so the engine's clock does not enter).

    edge_cases.py OUT.jsonl
"""

import json
import sys

BASE = "2026-10-01T%02d:%02d:%02d.000Z"
UA_DESK = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
UA_PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1"
UA_BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def t(h, m=0, s=0, day=1):
    return "2026-10-%02dT%02d:%02d:%02d.000Z" % (day, h, m, s)


lines = []
n = [0]


def mid():
    n[0] += 1
    return "edge-%04d" % n[0]


def ev(typ="page", h=10, m=0, s=0, day=1, **kw):
    e = {"type": typ, "messageId": mid(), "anonymousId": "anon-1",
         "context": {"userAgent": UA_DESK, "locale": "en-US",
                     "page": {"path": "/", "url": "https://shop.example.com/", "referrer": ""}},
         "receivedAt": t(h, m, s, day)}
    e.update(kw)
    return e


def add(obj):
    lines.append(json.dumps(obj, ensure_ascii=False) if not isinstance(obj, str) else obj)


# --- identities, kinds -----------------------------------------------------------------------
add(ev(h=1, userId=42))                                        # numeric userId
add(ev("track", h=1, m=1, event="Product Viewed", messageId=1.50,
       properties={"product_id": 7, "sku": "S7", "price": "19.99", "category": "Lamps"}))
add(ev("identify", h=1, m=2, userId="u-ident", traits={"email": "Ann@Example.COM", "name": "Ann"}))
add(ev("track", h=1, m=3, userId="u-ident", event="order_completed",
       properties={"order_id": 1001, "total": "10.005", "currency": "USD",
                   "product_id": "p1", "price": "10.005", "quantity": "2"}))
add(ev("track", h=1, m=4, userId="u-ident", event="Order Completed",
       properties={"order_id": "o-dup", "revenue": 5, "products": [
           {"product_id": "a", "price": 2.5, "quantity": 2.0}, {"product_id": "b", "price": 1}]}))
add(ev("track", h=1, m=5, userId="u-ident", event="Order Completed",
       properties={"order_id": "o-dup", "revenue": 7, "products": []}))
add(ev("track", h=1, m=6, userId="u-ident", event="Order Completed", properties={"revenue": 3}))
add(ev("track", h=1, m=7, userId="u-ident", event="Order Refunded",
       properties={"order_id": "o-dup", "revenue": 5}))
add(ev("track", h=1, m=8, userId="u-ident", event="Order Completed",
       properties={"order_id": "o-neg", "revenue": "-4.50"}))
add(ev("track", h=1, m=9, event="Something Custom", properties={"revenue": 1.239}))
add(ev("screen", h=1, m=10))
add(ev("group", h=1, m=11))
add(ev("alias", h=1, m=12, userId="u-alias"))
add(ev("page", h=1, m=13, userId="", anonymousId="anon-empty-user"))
# --- rejects -----------------------------------------------------------------------------------
add(ev("foo", h=2))                                            # unknown_type
e = ev(h=2, m=1); del e["type"]; add(e)                        # missing_field
add(ev("track", h=2, m=2))                                     # track without event
add(ev(7, h=2, m=3))                                           # wrong_type
e = ev(h=2, m=4); del e["anonymousId"]; add(e)                 # missing_identity
add(ev(h=2, m=5, anonymousId=True))                            # wrong_type
add(ev("track", h=2, m=6, event="Product Added", properties={"quantity": 1.5, "product_id": "x"}))
add(ev("track", h=2, m=7, event="Product Added", properties={"price": "12,50", "product_id": "x"}))
add(ev("track", h=2, m=8, event="Order Completed", properties={"order_id": "o-bad", "products": {}}))
add(ev(h=2, m=9, context="not an object"))
add('{"type":"page","messageId":"lone","anonymousId":"anon-1","properties":{"title":"\\ud800"},"receivedAt":"2026-10-01T02:10:00Z"}')
add('{"type":"page","messageId":"nan","anonymousId":"anon-1","properties":{"x":NaN},"receivedAt":"2026-10-01T02:11:00Z"}')
add('[1,2,3]')
add('"just a string"')
deep = {"type": "page", "messageId": "deep65", "anonymousId": "anon-1", "receivedAt": t(2, 12)}
x = deep
for i in range(64):
    x["p"] = {}
    x = x["p"]
add(deep)
deep = {"type": "page", "messageId": "deep64", "anonymousId": "anon-1", "receivedAt": t(2, 13)}
x = deep
for i in range(63):
    x["p"] = {}
    x = x["p"]
add(deep)
add(ev(h=2, m=14, properties={"blob": "x" * 33000}))          # too_large (32 KB)
add(ev(h=2, m=15, properties={"blob": "x" * 520000}))         # too_large (line over 500 KB)
add(ev(h=2, m=16, originalTimestamp="2026-02-29T10:00:00Z"))   # bad_timestamp (not a leap year)
add(ev(h=2, m=17, timestamp="2026-10-01 02:17:00Z"))           # space for T
add(ev(h=2, m=18, timestamp="2026-10-01T23:59:60Z"))           # leap second
add(ev(h=2, m=19, sentAt=12345))                               # wrong_type
# --- time ----------------------------------------------------------------------------------------
add(ev(h=3, timestamp="2026-10-01t05:00:00+02:00"))            # lower-case t, offset: 03:00Z
add(ev(h=3, m=1, originalTimestamp="2026-10-01T03:00:30.123456789z"))
add(ev(h=3, m=2, originalTimestamp="2026-09-30T03:00:00Z", sentAt="2026-09-30T03:00:05Z",
       timestamp="2026-01-01T00:00:00Z"))                      # skew corrected: 03:01:55
add(ev(h=3, m=3, anonymousId="anon-late", originalTimestamp="2026-10-01T02:00:00Z"))  # late
add(ev(h=3, m=4, anonymousId="anon-late", originalTimestamp="2026-10-01T02:55:00Z"))  # late
add(ev(h=3, m=5, anonymousId="anon-late", originalTimestamp="2026-10-01T02:59:59Z"))  # not late
# --- dedup ---------------------------------------------------------------------------------------
d = ev(h=4, anonymousId="anon-dup")
add(d)
d2 = dict(d); d2["receivedAt"] = t(4, 0, 30); add(d2)         # duplicate
d3 = dict(d); d3["receivedAt"] = t(4, 0, 0, day=8); add(d3)    # exactly 7 days later
d4 = dict(d); d4["receivedAt"] = t(4, 0, 1, day=15); add(d4)   # beyond the window of d3
nm = ev(h=4, m=5, anonymousId="anon-nomsg"); del nm["messageId"]
add(nm)
add(dict(nm))                                                  # same content, no messageId
nm2 = dict(nm); nm2["receivedAt"] = t(4, 5, 9); add(nm2)       # other content (receivedAt)
# --- country, UTM, page fields ----------------------------------------------------------------
add(ev(h=5, anonymousId="anon-geo", context={"locale": "de", "location": {"country": "de"},
                                             "userAgent": UA_PHONE}))
add(ev(h=5, m=1, anonymousId="anon-geo2", context={"locale": "pt_BR"}))
add(ev(h=5, m=2, anonymousId="anon-geo3", context={"locale": "zh-Hant-TW"}))
add(ev(h=5, m=3, anonymousId="anon-utm",
       context={"page": {"url": "https://shop.example.com/?utm_source=news&utm_medium=email&utm_campaign=fall"}}))
add(ev(h=5, m=4, anonymousId="anon-prop", context={},
       properties={"url": "https://shop.example.com/p", "path": "/p", "referrer": "https://google.com/"}))
add(ev(h=5, m=5, anonymousId="anon-cmp", context={"campaign": {"source": "", "medium": "cpc"}}))
# --- sessions ----------------------------------------------------------------------------------
for i, (mm, sid) in enumerate([(0, "A"), (1, "A"), (2, "B"), (3, None), (4, "B")]):
    props = {"$session_id": sid} if sid else {}
    add(ev(h=6, m=mm, anonymousId="anon-sid", properties=props))
add(ev(h=7, m=0, anonymousId="anon-gap"))
add(ev(h=7, m=30, anonymousId="anon-gap"))                     # exactly the timeout later
add(ev(h=7, m=59, s=59, anonymousId="anon-gap"))
for i in range(15):
    add(ev(h=8, m=0, s=2 * i, anonymousId="anon-fastbot"))     # behavioural bot, 2 s apart
for i in range(14):
    add(ev(h=8, m=10, s=2 * i, anonymousId="anon-14pages"))    # 14 pages: not a bot
add(ev(h=8, m=20, anonymousId="anon-crawler", context={"userAgent": UA_BOT}))
for hh in range(0, 24, 1):                                      # a day-long session: 24 h cap
    for mm in (0, 25, 50):
        add(ev(h=hh, m=mm, day=3, anonymousId="anon-long"))
add(ev(h=0, m=10, day=4, anonymousId="anon-long"))
# --- funnel out of order ---------------------------------------------------------------------
add(ev(h=9, anonymousId="anon-funnel", userId="u-funnel"))
add(ev("track", h=9, m=1, anonymousId="anon-funnel", userId="u-funnel", event="Product Added",
       properties={"product_id": "f1", "price": 3, "quantity": 1}))
add(ev("track", h=9, m=2, anonymousId="anon-funnel", userId="u-funnel", event="Product Viewed",
       properties={"product_id": "f1", "price": 3}))
add(ev("track", h=9, m=3, anonymousId="anon-funnel", userId="u-funnel", event="Checkout Started"))
add(ev("track", h=9, m=4, anonymousId="anon-funnel", userId="u-funnel", event="Order Completed",
       properties={"order_id": "o-funnel", "revenue": 3, "products": [{"product_id": "f1", "price": 3}]}))
# --- identity: anonymous browsing, then sign-up ----------------------------------------------
add(ev(h=11, anonymousId="anon-new",
       context={"page": {"url": "https://shop.example.com/?utm_source=ads&utm_medium=cpc&utm_campaign=c1"},
                "userAgent": UA_PHONE}))
add(ev(h=12, anonymousId="anon-new", userId="u-new"))
add(ev("track", h=12, m=1, anonymousId="anon-new", userId="u-new", event="Signed Up"))
add(ev("identify", h=12, m=2, anonymousId="anon-new", userId="u-new",
       traits={"email": "new@shop.example"}))
add(ev("track", h=12, m=3, anonymousId="anon-new", event="Order Completed",
       properties={"order_id": "o-anon", "revenue": 9.99}))
# --- documented since: timestamp forms (events.md "Event time") ------------------------------
add(ev(h=17, anonymousId="anon-ts", timestamp="2026-10-01T19:10:00+0200"))   # offset without colon
add(ev(h=17, m=1, anonymousId="anon-ts", timestamp="2026-10-01"))           # bare date: midnight
add(ev(h=17, m=2, anonymousId="anon-ts", timestamp="2026-10-01T17:02:00"))  # no offset: bad_timestamp
add(ev(h=17, m=3, anonymousId="anon-ts", timestamp="2026-10-01 17:03:00.9999z"))  # truncated to ms
add(ev(h=17, m=4, anonymousId="anon-ts", timestamp="2026-10-01T17:04:00.5-00:00"))
add(ev(h=17, m=5, anonymousId="anon-ts", originalTimestamp="2026-10-01T17:04:59.0009Z",
       sentAt="2026-10-01T17:05:00.0001Z"))                        # skew from ms-truncated times
# --- country, device type, empty strings (pipeline.md) -----------------------------------------
UA_IPAD = "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1"
UA_ATAB = "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
UA_APHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36"
UA_CUBOT = "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36"
for i, (ua, loc, country) in enumerate([
        (UA_IPAD, "es-419", None), (UA_ATAB, "en", None), (UA_APHONE, "pt_BR.UTF-8", None),
        (UA_CUBOT, "sr-Latn-RS", None), ("curl/8.4.0", "de-DE", "USA"), ("Tablet PC", "fr", ""),
        ("Something/1.0", "en-gb", "us"), (None, "", None), ("", "zh-Hant-TW", "u1"),
        (UA_DESK, "de-DE", ""), (UA_DESK, "nl-nl", None)]):
    ctx = {"locale": loc, "page": {"path": "/dev%d" % i, "url": "https://shop.example.com/"}}
    if ua is not None:
        ctx["userAgent"] = ua
    if country is not None:
        ctx["location"] = {"country": country}
    add(ev(h=17, m=10 + i, anonymousId="anon-dev%d" % i, context=ctx))
add(ev(h=17, m=20, anonymousId="anon-empty", context={
    "ip": "", "locale": "", "userAgent": UA_DESK,
    "page": {"path": "", "url": "", "referrer": ""}, "campaign": {"source": "", "name": ""}},
    properties={"path": "/from-props"}))
# --- sessions (pipeline.md "The rules") ------------------------------------------------------
for i, sid in enumerate([None, "A", None, "B", "A"]):            # takes the first id it sees
    props = {"$session_id": sid} if sid else {}
    add(ev(h=18, m=i, anonymousId="anon-sid2", properties=props))
add(ev(h=18, m=10, anonymousId="anon-ctxsid", context={"sessionId": "C1", "userAgent": UA_DESK}))
add(ev(h=18, m=11, anonymousId="anon-ctxsid", context={"sessionId": "C2", "userAgent": UA_DESK},
       properties={"$session_id": "C1"}))                          # $session_id wins
add(ev(h=18, m=20, anonymousId="anon-users", userId="u-first"))
add(ev(h=18, m=21, anonymousId="anon-users", userId="u-last"))   # session user_id: the last
add(ev(h=18, m=22, anonymousId="anon-users"))
add(ev("track", h=18, m=30, anonymousId="anon-land", event="Custom Thing",
       context={"userAgent": UA_PHONE, "locale": "it-IT", "page": {"path": "/track-first"}}))
add(ev(h=18, m=31, anonymousId="anon-land", context={
    "userAgent": UA_DESK, "locale": "de-DE", "campaign": {"source": "later", "medium": "cpc"},
    "page": {"path": "/second"}}))
# --- acquisition: the first session with a page view has no UTM, a later one has -----------------
add(ev(h=19, anonymousId="anon-acq", userId="u-acq"))
add(ev(h=21, anonymousId="anon-acq", userId="u-acq",
       context={"campaign": {"source": "news", "medium": "email", "name": "n1"},
                "userAgent": UA_DESK, "page": {"path": "/"}}))
# --- an order in a currency without a rate ---------------------------------------------------------
add(ev("track", h=19, m=30, anonymousId="anon-xts", userId="u-xts", event="Order Completed",
       properties={"order_id": "o-xts", "revenue": "10.00", "currency": "XTS"}))
# --- settled since: a customer's average over the orders with a rate; sums of unconverted orders 0
add(ev("track", h=19, m=31, anonymousId="anon-xts", userId="u-xts", event="Order Completed",
       properties={"order_id": "o-xts-usd", "revenue": "20.00", "currency": "USD"}))
add(ev("track", h=19, m=32, anonymousId="anon-xts2", userId="u-xts2", event="Order Completed",
       context={"location": {"country": "ZZ"}, "userAgent": UA_DESK},
       properties={"order_id": "o-xts2", "revenue": "7.00", "currency": "XTS"}))
# --- settled since: exact averages (0.099 s and 1.001 s: mean and median 0.55 -> 0.6) ----------------
for (hh, ms0, ms1) in [(10, "00.000", "00.099"), (12, "00.000", "01.001")]:
    for ms in (ms0, ms1):
        ts = "2026-10-02T%02d:00:%sZ" % (hh, ms)
        add(ev(h=hh, day=2, anonymousId="anon-round", userId="u-round", timestamp=ts,
               context={"locale": "fi-FI", "userAgent": UA_DESK, "campaign": {"source": "round"},
                        "page": {"path": "/r"}}))
# --- settled since: a customer's last_seen, events, country from the events carrying their userId --
add(ev(h=20, anonymousId="anon-cc", context={"locale": "fr-FR", "userAgent": UA_DESK}))
add(ev("identify", h=20, m=1, anonymousId="anon-cc", userId="u-cc", traits={"name": "Cc"},
       context={"userAgent": UA_DESK}))
add(ev(h=20, m=2, anonymousId="anon-cc", context={"locale": "it-IT", "userAgent": UA_DESK}))
# --- settled since: a session is one person's (its userId, else its device's link) ------------------
add(ev("identify", h=22, anonymousId="anon-two", userId="u-one", context={"userAgent": UA_DESK}))
add(ev(h=23, anonymousId="anon-two", userId="u-two"))           # u-two's session, not u-one's
add(ev(h=23, m=50, anonymousId="anon-two"))                      # userless: u-one's (the link)
# --- batches -------------------------------------------------------------------------------------
add({"batch": [
    {"type": "page", "messageId": mid(), "anonymousId": "anon-b", "receivedAt": t(13),
     "originalTimestamp": t(12, 59, 0), "context": {"locale": "fr-FR"}},
    {"type": "page", "messageId": mid(), "anonymousId": "anon-b", "receivedAt": t(13, 0, 1),
     "originalTimestamp": t(12, 59, 1), "sentAt": t(12, 59, 2)},
    {"type": "nope", "messageId": mid(), "anonymousId": "anon-b", "receivedAt": t(13, 0, 2)},
    17,
    {"type": "page", "messageId": mid(), "anonymousId": "anon-b", "receivedAt": t(13, 0, 3),
     "properties": {"blob": "y" * 33000}},
], "context": {"userAgent": UA_PHONE, "locale": "es-ES"}, "sentAt": t(12, 59, 5)})
add({"batch": [{"type": "page", "messageId": "big-%d" % i, "anonymousId": "anon-big",
                "receivedAt": t(14)} for i in range(2501)]})
add({"batch": "nope"})
add("")
add("   ")
lines_crlf = ev(h=15, anonymousId="anon-crlf")

with open(sys.argv[1], "wb") as f:
    for ln in lines:
        f.write(ln.encode("utf-8") + b"\n")
    f.write(json.dumps(lines_crlf).encode() + b"\r\n")
    f.write(b'{"type":"page","messageId":"bad-utf8","anonymousId":"anon-1","properties":{"t":"\xff"},"receivedAt":"2026-10-01T16:00:00Z"}\n')
    f.write(json.dumps(ev(h=16, m=1, anonymousId="anon-last")).encode())  # no final newline
