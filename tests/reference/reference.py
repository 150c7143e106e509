#!/usr/bin/env python3
"""clickpulse reference implementation: every documented figure, from the documentation alone.

Input: the raw files `clickpulse ingest` takes (JSON Lines of Segment messages or {"batch":[...]}
envelopes), in the order given, into an empty data directory. Output: a JSON document of every
silver figure and every gold mart of models/marts/schema.yml.

Standard library only. Money is decimal.Decimal throughout, never float. Times are integer
microseconds since the Unix epoch (UTC).

Every rule below cites the document it comes from. Where the documentation is silent or ambiguous
the choice made is marked `# DOC-GAP:`; README.md in this directory lists them.
"""

import argparse
import datetime
import json
import os
import re
import sys
from decimal import Decimal, ROUND_HALF_UP, localcontext

# ----------------------------------------------------------------------------------------------
# configuration (README "Configuration": defaults)

DEFAULTS = {
    "pipeline.dedup_window": "7d",
    "pipeline.session_timeout": "30m",
    "pipeline.allowed_lateness": "5m",
    "collector.max_event_bytes": "32KB",
    "collector.max_request_bytes": "500KB",
    "collector.max_batch_events": "2500",
}

US = 1_000_000  # microseconds per second
DAY_US = 86400 * US
MONEY_Q = Decimal("0.01")


def parse_duration(text):
    """README: durations take ms, s, m, h, d. Returns microseconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", str(text))
    if not m:
        raise ValueError("bad duration: %r" % text)
    n = Decimal(m.group(1))
    unit = m.group(2) or "s"  # DOC-GAP: a duration without a unit; seconds assumed
    mult = {"ms": 1000, "s": US, "m": 60 * US, "h": 3600 * US, "d": DAY_US}[unit]
    return int(n * mult)


def parse_size(text):
    """README: sizes take KB, MB, GB (powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+)\s*(KB|MB|GB|B)?\s*", str(text))
    if not m:
        raise ValueError("bad size: %r" % text)
    return int(m.group(1)) * {None: 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[m.group(2)]


# ----------------------------------------------------------------------------------------------
# time

def days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_DIM = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# RFC 3339 section 5.6: date-time = full-date "T" full-time. events.md "Event time": also with a
# space or `t` between date and time, `z` for `Z`, an offset without its colon (`+0200`), or a bare
# date (midnight UTC); a time without an offset is not a timestamp; a leap second `:60` counts as
# `:59`; times are kept to the millisecond, further digits of a fraction dropped (not rounded).
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2})))?\Z")


_day_cache = {}


def parse_rfc3339(s):
    """Microseconds since the epoch, or None when s is not an RFC 3339 date-time."""
    m = _RFC3339.match(s)
    if not m:
        return None
    dn = _day_cache.get(s[:10])
    if dn is None:
        y, mo, d = int(s[0:4]), int(s[5:7]), int(s[8:10])
        if not (1 <= mo <= 12) or d < 1:
            return None
        dim = _DIM[mo]
        if mo == 2 and (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
            dim = 29
        if d > dim:
            return None
        dn = days_from_civil(y, mo, d)
        if len(_day_cache) < 100000:
            _day_cache[s[:10]] = dn
    if m.group(4) is None:  # a bare date: midnight UTC
        return dn * DAY_US
    h, mi, se = int(m.group(4)), int(m.group(5)), int(m.group(6))
    if h > 23 or mi > 59 or se > 60:
        return None
    if se == 60:
        se = 59
    frac = m.group(7)
    us = int((frac + "000")[:3]) * 1000 if frac else 0  # to the millisecond, truncated
    t = (dn * 86400 + h * 3600 + mi * 60 + se) * US + us
    if m.group(8) is None:
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            return None
        off = (oh * 3600 + om * 60) * US
        t = t - off if m.group(9) == "+" else t + off
    return t


_EPOCH = datetime.datetime(1970, 1, 1)
_date_cache = {}


def day_of(us):
    """UTC day (YYYY-MM-DD) of a time in microseconds."""
    dn = us // DAY_US
    s = _date_cache.get(dn)
    if s is None:
        s = (datetime.date(1970, 1, 1) + datetime.timedelta(days=dn)).isoformat()
        _date_cache[dn] = s
    return s


def month_of(us):
    """First day of the month of a time (YYYY-MM-01)."""
    return day_of(us)[:8] + "01"


def fmt_ts(us):
    if us is None:
        return None
    return (_EPOCH + datetime.timedelta(microseconds=us)).isoformat(sep=" ")


# ----------------------------------------------------------------------------------------------
# JSON (RFC 8259), numbers kept as their text

class JFloat:
    """A JSON number with a fraction or exponent, kept as its text (events.md: ids that are numbers
    are kept as their text; money is exact)."""
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


def _bad_constant(name):
    raise ValueError("not JSON: %s" % name)


_DECODER = json.JSONDecoder(parse_float=JFloat, parse_constant=_bad_constant)
_decode = _DECODER.decode


def _max_depth(v, d=1):
    if type(v) is dict:
        m = d
        for x in v.values():
            if type(x) is dict or type(x) is list:
                m = max(m, _max_depth(x, d + 1))
        return m
    if type(v) is list:
        m = d
        for x in v:
            if type(x) is dict or type(x) is list:
                m = max(m, _max_depth(x, d + 1))
        return m
    return d


def _has_surrogate_str(s):
    for ch in s:
        if "\ud800" <= ch <= "\udfff":
            return True
    return False


def _has_surrogate(v):
    t = type(v)
    if t is str:
        return _has_surrogate_str(v)
    if t is dict:
        for k, x in v.items():
            if _has_surrogate_str(k) or _has_surrogate(x):
                return True
    elif t is list:
        for x in v:
            if _has_surrogate(x):
                return True
    return False


def _element_spans(text):
    """Character spans of the elements of the top-level "batch" array of a JSON object text
    (used only to measure batch elements against collector.max_event_bytes)."""
    spans = []
    dec = json.JSONDecoder(parse_float=JFloat, parse_constant=_bad_constant)
    ws = " \t\n\r"
    i = 0
    n = len(text)

    def skip(i):
        while i < n and text[i] in ws:
            i += 1
        return i

    i = skip(i)
    if i >= n or text[i] != "{":
        return None
    i = skip(i + 1)
    while i < n and text[i] != "}":
        key, i = dec.raw_decode(text, i)
        i = skip(i)
        i = skip(i + 1)  # ':'
        if key == "batch" and text[i] == "[":
            spans = []
            j = skip(i + 1)
            while j < n and text[j] != "]":
                _, e = dec.raw_decode(text, j)
                spans.append((j, e))
                j = skip(e)
                if text[j] == ",":
                    j = skip(j + 1)
            i = j + 1
        else:
            _, i = dec.raw_decode(text, i)
        i = skip(i)
        if i < n and text[i] == ",":
            i = skip(i + 1)
    return spans


# ----------------------------------------------------------------------------------------------
# events (docs/events.md)

class NeedNow(Exception):
    """A line without receivedAt and no --now."""


class Reject(Exception):
    def __init__(self, reason, detail):
        Exception.__init__(self, reason)
        self.reason = reason
        self.detail = detail


# events.md "Fields": kind from the Segment e-commerce names or their snake_case forms.
# DOC-GAP: names are matched exactly (case-sensitively).
KINDS = {}
for _n in ("Product Viewed", "Product Added", "Product Removed", "Cart Viewed", "Checkout Started",
           "Order Completed", "Order Refunded", "Signed Up"):
    _k = _n.lower().replace(" ", "_")
    KINDS[_n] = _k
    KINDS[_k] = _k
TYPES = ("track", "page", "screen", "identify", "group", "alias")  # events.md unknown_type
ORDER_KINDS = ("order_completed", "order_refunded")

# events.md "Money is exact decimal": number or numeric string, JSON number grammar.
# DOC-GAP: a numeric string with blanks around it is not numeric (taken).
_NUMERIC_STR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?\Z")
MONEY_MAX = Decimal("9999999999999999.99")
DAY2000 = days_from_civil(2000, 1, 1) * DAY_US
_CURRENCY = re.compile(r"[A-Z]{3}\Z")
# DOC-GAP: what "an e-mail address" is (events.md invalid_value) is not documented. Taken: one
# '@', a non-empty local part, a domain with a dot inside, no blanks.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]\Z")


def _tname(v):
    if v is None:
        return "null"
    t = type(v)
    if t is str:
        return "a string"
    if t is bool:
        return "a boolean"
    if t is int or t is JFloat:
        return "a number"
    if t is dict:
        return "an object"
    if t is list:
        return "an array"
    return str(t)


def _wrong(path, key, want, v):
    return Reject("wrong_type", "%s%s: expected %s, got %s" % (path, key, want, _tname(v)))


def money_text(v):
    """The exact value of a money field (a JSON number or numeric string), or None when it is of
    the wrong type."""
    t = type(v)
    if t is JFloat:
        return Decimal(v.text)
    if t is int:
        return Decimal(v)
    if t is str and _NUMERIC_STR.match(v):
        return Decimal(v)
    return None


def qty_value(v):
    """events.md: quantities may be numbers or numeric strings and must be integers.
    DOC-GAP: whether 2.0 or "2.0" (an integral value written with a fraction) is an integer;
    accepted here."""
    t = type(v)
    if t is int:
        return v
    d = None
    if t is JFloat:
        d = Decimal(v.text)
    elif t is str and _NUMERIC_STR.match(v):
        d = Decimal(v)
    if d is not None and d.is_finite() and d == d.to_integral_value():
        return int(d)
    return None


# user agents ------------------------------------------------------------------------------------
# pipeline.md "Sessions": known crawlers and tools are the patterns of crawler-user-agents (npm,
# pinned in web/package.json), matched case-sensitively as the list writes them, plus three generic
# tells: `bot/` or `Bot/`, `crawler` or `Crawler`, `spider` or `Spider`.
# The list is public data; it is read from the npm package's crawler-user-agents.json
# (--crawlers FILE; default: web/node_modules/crawler-user-agents/ of this tree).
# DOC-GAP: the list's patterns are JavaScript regular expressions (\d, [\s\S]); pipeline.md says
# they are embedded as one POSIX extended regular expression, where those mean other things. They
# are matched here with their JavaScript meaning (Python's re).
_GENERIC_TELLS = ("bot/", "Bot/", "crawler", "Crawler", "spider", "Spider")
_crawler_re = None
_ua_cache = {}


def load_crawlers(path=None):
    global _crawler_re
    here = os.path.dirname(os.path.abspath(__file__))
    cands = [path] if path else [
        os.path.join(here, "..", "..", "web", "node_modules", "crawler-user-agents",
                     "crawler-user-agents.json")]
    for p in cands:
        if p and os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                pats = [x["pattern"] for x in json.load(f)]
            _crawler_re = re.compile("|".join("(?:%s)" % p for p in pats))
            _ua_cache.clear()
            return len(pats)
    if path:
        raise SystemExit("--crawlers: %s not found" % path)
    sys.stderr.write("reference: crawler-user-agents.json not found; only the generic tells "
                     "(bot/, crawler, spider) mark crawlers\n")
    _crawler_re = re.compile(r"(?!x)x")
    return 0


def classify_ua(ua):
    """(device_type, is_bot).
    pipeline.md: device `bot` for a known crawler or tool, else `tablet` (`iPad`, `Tablet`, or
    `Android` without `Mobile`), `mobile` (`Mobile`, `iPhone`), `desktop`; `unknown` without a user
    agent. DOC-GAP: an empty user agent ("") is taken as none (unknown)."""
    if not ua:
        return ("unknown", False)
    r = _ua_cache.get(ua)
    if r is not None:
        return r
    if _crawler_re is None:
        load_crawlers()
    bot = bool(_crawler_re.search(ua)) or any(t in ua for t in _GENERIC_TELLS)
    if bot:
        dev = "bot"
    elif "iPad" in ua or "Tablet" in ua or ("Android" in ua and "Mobile" not in ua):
        dev = "tablet"
    elif "Mobile" in ua or "iPhone" in ua:
        dev = "mobile"
    else:
        dev = "desktop"
    r = (dev, bot)
    if len(_ua_cache) < 100000:
        _ua_cache[ua] = r
    return r


_locale_cache = {}


_TWO_LETTERS = re.compile(r"[A-Za-z]{2}\Z")
_SCRIPT = re.compile(r"[A-Za-z]{4}\Z")


def locale_region(loc):
    """pipeline.md: the region of context.locale: after the language and an optional four-letter
    script, a two-letter subtag (de-DE, pt_BR.UTF-8, zh-Hant-TW -> DE, BR, TW; es-419 and en give
    none). DOC-GAP: subtags separated by `-` or `_`, anything from a `.` or `@` on (charset,
    modifier) left out; a lower-case region (de-de) upper-cased like location.country."""
    r = _locale_cache.get(loc, 0)
    if r != 0:
        return r
    r = None
    parts = re.split(r"[-_]", re.split(r"[.@]", loc, 1)[0])
    i = 1
    if len(parts) > i and _SCRIPT.match(parts[i]):
        i += 1
    if len(parts) > i and _TWO_LETTERS.match(parts[i]):
        r = parts[i].upper()
    _locale_cache[loc] = r
    return r


def _utm_from_url(url):
    # DOC-GAP: whether UTM fields also come from the page URL's query string when context.campaign
    # has none; taken here (utm_source, utm_medium, utm_campaign, utm_term, utm_content).
    if not url or "utm_" not in url:
        return None
    from urllib.parse import urlsplit, parse_qs
    try:
        qs = parse_qs(urlsplit(url).query)
    except ValueError:
        return None
    return {k: v[0] for k, v in qs.items() if k.startswith("utm_") and v}


class Event:
    __slots__ = ("offset", "message_id", "type", "kind", "event_name", "user_id", "anonymous_id",
                 "identity", "event_time", "received_at", "event_date", "page_url", "page_path",
                 "page_referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term",
                 "utm_content", "country", "locale", "ip", "device_type", "is_bot", "late",
                 "email", "email_domain", "name", "order_id", "revenue", "total", "currency",
                 "client_session", "category", "product_id", "products", "delivery", "line",
                 "source", "msg_key", "timed")


_STR = frozenset((str,))
_IDT = frozenset((str, int, JFloat))
_OBJ = frozenset((dict,))
_MON = frozenset((int, JFloat, str))
_QTY = frozenset((int, JFloat, str, 1))
_WANT = {_STR: "a string", _IDT: "a string or a number", _OBJ: "an object", _MON: "a number"}
_spec_cache = {}


def _spec(strs, ids, objs, money, qty):
    key = (strs, ids, objs, money, qty)
    sp = _spec_cache.get(key)
    if sp is None:
        sp = {}
        for ks, w in ((strs, _STR), (ids, _IDT), (objs, _OBJ), (money, _MON), (qty, _QTY)):
            for k in ks:
                sp[k] = w
        _spec_cache[key] = sp
    return sp


def _check(obj, path, strs=(), ids=(), objs=(), money=(), qty=(), sp=None):
    """events.md "Fields": known fields are type-checked (wrong_type); null counts as absent.
    path: the field's path prefix, or (prefix, index) for a product."""
    if sp is None:
        sp = _spec(strs, ids, objs, money, qty)
    for k, v in obj.items():
        w = sp.get(k)
        if w is not None and v is not None:
            if w is _MON:
                if money_text(v) is None:
                    raise _wrong(_path(path), k, "a number", v)
            elif w is _QTY:
                if qty_value(v) is None:
                    raise _wrong(_path(path), k, "an integer", v)
            elif type(v) not in w:
                raise _wrong(_path(path), k, _WANT[w], v)


def _path(path):
    return "%sproducts[%d]." % path if type(path) is tuple else path


def _id_text(v):
    if v is None or type(v) is str:
        return v
    if type(v) is JFloat:
        return v.text
    return str(v)


# DOC-GAP: the list of known fields and their types is not documented; these are the fields the
# documents say are read (events.md, design.md 3, pipeline.md, live.md).
_TOP_STR = ("type", "event", "timestamp", "originalTimestamp", "sentAt", "receivedAt")
_TOP_ID = ("userId", "anonymousId", "messageId")
_TOP_OBJ = ("properties", "traits", "context", "integrations")
_CTX_STR = ("userAgent", "locale", "ip")
_CTX_OBJ = ("page", "campaign", "location", "traits")
_PAGE_STR = ("url", "path", "referrer", "title", "search")
_CAMPAIGN_STR = ("source", "medium", "name", "term", "content")
_PROP_STR = ("currency", "category", "name")
_PROP_ID = ("order_id", "product_id", "sku", "$session_id")
_PROP_MONEY = ("revenue", "total", "price")
_PROP_QTY = ("quantity",)
_PRODUCT_STR = ("name", "category")
_PRODUCT_ID = ("product_id", "sku")
_PRODUCT_MONEY = ("price",)
_TRAIT_STR = ("email", "name")
_EMPTY = {}
_SP_TOP = _spec(_TOP_STR, _TOP_ID, _TOP_OBJ, (), ())
_SP_CTX = _spec(_CTX_STR, ("sessionId",), _CTX_OBJ, (), ())
_SP_PAGE = _spec(_PAGE_STR, (), (), (), ())
_SP_CAMPAIGN = _spec(_CAMPAIGN_STR, (), (), (), ())
_SP_LOCATION = _spec(("country",), (), (), (), ())
_SP_TRAITS = _spec(_TRAIT_STR, (), (), (), ())
_SP_TRAITS_TOP = _spec(_TRAIT_STR + ("country",), (), (), (), ())
_SP_PROPS = _spec(_PROP_STR, _PROP_ID, (), _PROP_MONEY, _PROP_QTY)
_SP_PROPS_PAGE = _spec(_PROP_STR + _PAGE_STR, _PROP_ID, (), _PROP_MONEY, _PROP_QTY)
_SP_PRODUCT = _spec(_PRODUCT_STR, _PRODUCT_ID, (), _PRODUCT_MONEY, _PROP_QTY)


def _money(v):
    return None if v is None else money_text(v)


def decode_message(msg, path, recv_default, trusted=True):
    """One Segment message (a dict, envelope fields already merged) -> Event, or raise Reject.
    recv_default: the receive time when the message has no trusted receivedAt (the engine's clock:
    --now). The rules are checked in the order of events.md's table: wrong_type, out_of_range,
    missing_field, unknown_type, missing_identity, bad_timestamp, invalid_value."""
    if type(msg) is not dict:
        raise Reject("wrong_type", "%sexpected an object, got %s" % (path, _tname(msg)))
    get = msg.get
    # --- wrong_type ----------------------------------------------------------------------------
    _check(msg, path, sp=_SP_TOP)
    props = get("properties") or _EMPTY
    traits = get("traits") or _EMPTY
    ctx = get("context") or _EMPTY
    cp = path + "context."
    pp = path + "properties."
    if ctx:
        _check(ctx, cp, sp=_SP_CTX)
        page = ctx.get("page") or _EMPTY
        campaign = ctx.get("campaign") or _EMPTY
        location = ctx.get("location") or _EMPTY
        ctx_traits = ctx.get("traits") or _EMPTY
        if page:
            _check(page, cp + "page.", sp=_SP_PAGE)
        if campaign:
            _check(campaign, cp + "campaign.", sp=_SP_CAMPAIGN)
        if location:
            _check(location, cp + "location.", sp=_SP_LOCATION)
        if ctx_traits:
            _check(ctx_traits, cp + "traits.", sp=_SP_TRAITS)
    else:
        page = campaign = location = ctx_traits = _EMPTY
    plist = None
    if props:
        _check(props, pp, sp=_SP_PROPS_PAGE if get("type") == "page" else _SP_PROPS)
        plist = props.get("products")
        if plist is not None:
            if type(plist) is not list:
                raise _wrong(pp, "products", "an array", plist)
            for i, pr in enumerate(plist):
                if type(pr) is not dict:
                    # DOC-GAP: a product that is not an object: rejected as wrong_type here
                    raise _wrong(pp, "products[%d]" % i, "an object", pr)
                _check(pr, (pp, i), sp=_SP_PRODUCT)
    if traits:
        _check(traits, path + "traits.", sp=_SP_TRAITS_TOP)
    # the amounts and product lines
    revenue = _money(props.get("revenue")) if props else None
    total = _money(props.get("total")) if props else None
    products = None
    if plist:
        products = []
        for pr in plist:
            q = pr.get("quantity")
            products.append([_id_text(pr.get("product_id")), _id_text(pr.get("sku")),
                             pr.get("name"), pr.get("category"), _money(pr.get("price")),
                             None if q is None else qty_value(q)])
    elif props and plist is None and (props.get("product_id") is not None
                                      or props.get("sku") is not None):
        # events.md: products from properties.products[], or from the flat product_id/sku/price/
        # quantity of single-product events.
        q = props.get("quantity")
        products = [[_id_text(props.get("product_id")), _id_text(props.get("sku")),
                     props.get("name"), props.get("category"), _money(props.get("price")),
                     None if q is None else qty_value(q)]]
    typ = get("type")
    name = get("event")
    kind = (KINDS.get(name, "custom") if typ == "track" and name is not None else typ)
    # --- out_of_range --------------------------------------------------------------------------
    for k, v in (("revenue", revenue), ("total", total)):
        if v is not None and abs(v) > MONEY_MAX:
            raise Reject("out_of_range", "%s%s: beyond DECIMAL(18,2)" % (pp, k))
    if products:
        for i, p in enumerate(products):
            if p[4] is not None and abs(p[4]) > MONEY_MAX:
                raise Reject("out_of_range", "%sproducts[%d].price: beyond DECIMAL(18,2)" % (pp, i))
        if kind in ORDER_KINDS:
            # DOC-GAP: a line without a price adds nothing, one without a quantity counts 1 unit.
            s = sum(((p[4] or 0) * (1 if p[5] is None else p[5]) for p in products), Decimal(0))
            if abs(s) > MONEY_MAX:
                raise Reject("out_of_range", "%sproducts: the lines add up beyond DECIMAL(18,2)" % pp)
    # --- missing_field -------------------------------------------------------------------------
    if typ is None:
        raise Reject("missing_field", path + "type: missing")
    if typ == "track" and name is None:
        raise Reject("missing_field", path + "event: a track call needs an event name")
    if kind in ORDER_KINDS and typ == "track":
        # DOC-GAP: an empty order_id ("") is missing; "products" means at least one product line
        # (products[] not empty, or a flat product_id/sku).
        if not _id_text(props.get("order_id")):
            raise Reject("missing_field", pp + "order_id: an order needs one")
        if revenue is None and total is None and not products:
            raise Reject("missing_field", pp + "an order needs revenue, total or products")
    # --- unknown_type --------------------------------------------------------------------------
    if typ not in TYPES:
        raise Reject("unknown_type", "%stype: unknown type '%s'" % (path, typ))
    # --- missing_identity ----------------------------------------------------------------------
    # pipeline.md: empty identities are absent.
    user_id = _id_text(get("userId")) or None
    anon_id = _id_text(get("anonymousId")) or None
    if user_id is None and anon_id is None:
        raise Reject("missing_identity", path + "neither userId nor anonymousId is set")
    # --- bad_timestamp -------------------------------------------------------------------------
    ts = ots = sent = recv = None
    for key in ("timestamp", "originalTimestamp", "sentAt", "receivedAt"):
        s = get(key)
        if s is not None:
            t = parse_rfc3339(s)
            if t is None:
                raise Reject("bad_timestamp", "%s%s: not an RFC 3339 timestamp: '%s'" % (path, key, s))
            if key == "timestamp":
                ts = t
            elif key == "originalTimestamp":
                ots = t
            elif key == "sentAt":
                sent = t
            else:
                recv = t
    # events.md "Event time": the receive time is the input's own receivedAt when the input is an
    # archive whose receivedAt is trusted (files), else the clock at that moment (--now).
    if recv is None or not trusted:
        recv = recv_default
        if recv is None:
            raise NeedNow()
    timed = ts is not None or ots is not None or (trusted and get("receivedAt") is not None)
    if ots is not None and sent is not None:
        et = recv - (sent - ots)
    elif ts is not None:
        et = ts
    elif ots is not None:
        et = ots
    elif recv is not None:
        et = recv
    else:
        raise Reject("missing_field", path + "no time at all")
    if et < DAY2000:
        raise Reject("bad_timestamp", path + "event time before 2000-01-01")
    if et - recv > DAY_US:
        raise Reject("bad_timestamp", path + "event time more than a day after its receive time")
    # --- invalid_value -------------------------------------------------------------------------
    for k, v in (("revenue", revenue), ("total", total)):
        if v is not None:
            if v != v.quantize(MONEY_Q, rounding=ROUND_HALF_UP):
                raise Reject("invalid_value", "%s%s: a digit past the hundredths" % (pp, k))
            if v < 0:
                raise Reject("invalid_value", "%s%s: negative" % (pp, k))
    if products:
        for i, p in enumerate(products):
            v = p[4]
            if v is not None:
                if v != v.quantize(MONEY_Q, rounding=ROUND_HALF_UP):
                    raise Reject("invalid_value", "%sproducts[%d].price: a digit past the "
                                 "hundredths" % (pp, i))
                if v < 0:
                    raise Reject("invalid_value", "%sproducts[%d].price: negative" % (pp, i))
            # DOC-GAP: "a product quantity below 1" taken for products[] and for the flat
            # quantity of a single-product event alike.
            if p[5] is not None and p[5] < 1:
                raise Reject("invalid_value", "%sproducts[%d].quantity: below 1" % (pp, i))
    currency = props.get("currency") if props else None
    if currency is not None and not _CURRENCY.match(currency):
        raise Reject("invalid_value", pp + "currency: not three capital letters")
    email = traits.get("email")
    if typ == "identify" and email is not None and not _EMAIL.match(email):
        raise Reject("invalid_value", path + "traits.email: not an e-mail address")

    e = Event()
    e.timed = timed
    e.message_id = _id_text(get("messageId")) or None  # DOC-GAP: an empty messageId is absent
    e.type = typ
    e.event_name = name if typ == "track" else None  # DOC-GAP: event_name of non-track calls
    e.kind = kind
    e.user_id = user_id
    e.anonymous_id = anon_id
    e.identity = anon_id if anon_id is not None else user_id  # design.md 3: anonymousId, else userId
    e.event_time = et
    e.received_at = recv
    e.event_date = day_of(et)
    # events.md: page fields come from context.page, else from the page call's properties.
    # pipeline.md: page fields that are empty strings are absent (NULL).
    # DOC-GAP: field by field (url, path, referrer), and for page calls only; an empty string in
    # context.page is absent, so the page call's property is taken instead (the two sentences read
    # together; the engine agrees since 63979ae).
    page_url = page.get("url") or None
    page_path = page.get("path") or None
    page_ref = page.get("referrer") or None
    if typ == "page":
        if page_url is None:
            page_url = props.get("url") or None
        if page_path is None:
            page_path = props.get("path") or None
        if page_ref is None:
            page_ref = props.get("referrer") or None
    e.page_url = page_url
    e.page_path = page_path
    e.page_referrer = page_ref
    # design.md 5: UTM fields; context.campaign (source, medium, name, term, content).
    if campaign:
        c_source, c_medium, c_name = campaign.get("source"), campaign.get("medium"), campaign.get("name")
        c_term, c_content = campaign.get("term"), campaign.get("content")
    else:
        c_source = c_medium = c_name = c_term = c_content = None
    if c_source is None and c_medium is None and c_name is None and c_term is None and c_content is None:
        u = _utm_from_url(page_url)
        if u:
            c_source, c_medium, c_name = u.get("utm_source"), u.get("utm_medium"), u.get("utm_campaign")
            c_term, c_content = u.get("utm_term"), u.get("utm_content")
    # pipeline.md: UTM fields that are empty strings are absent (NULL).
    e.utm_source = c_source or None
    e.utm_medium = c_medium or None
    e.utm_campaign = c_name or None
    e.utm_term = c_term or None
    e.utm_content = c_content or None
    # pipeline.md: the country is context.location.country (a two-letter code upper-cased,
    # anything else kept as sent), else the region of context.locale. Locale and IP that are empty
    # strings are absent. DOC-GAP: an empty location.country is absent too (the locale decides);
    # "two-letter" read as two ASCII letters.
    loc_country = location.get("country")
    locale = ctx.get("locale") or None
    if loc_country:
        country = loc_country.upper() if _TWO_LETTERS.match(loc_country) else loc_country
    else:
        country = None
    if country is None and locale:
        country = locale_region(locale)
    e.country = country
    e.locale = locale
    e.ip = ctx.get("ip") or None
    e.device_type, e.is_bot = classify_ua(ctx.get("userAgent"))
    e.late = False
    tname = traits.get("name")
    if email is None:
        email = ctx_traits.get("email")
    if tname is None:
        tname = ctx_traits.get("name")
    e.email = email
    # schema.yml dim_customers.email_domain: the part after the @, lower-cased.
    # DOC-GAP: after the last @; none without an @.
    if email and "@" in email:
        e.email_domain = email.rsplit("@", 1)[1].lower() or None
    else:
        e.email_domain = None
    e.name = tname
    if products:
        for p in products:
            if p[4] is not None:
                p[4] = p[4].quantize(MONEY_Q)
            if p[5] is None:
                p[5] = 1  # DOC-GAP: a product without quantity is one unit
    if props:
        e.order_id = _id_text(props.get("order_id")) or None
        # events.md: revenue is properties.revenue, else properties.total (exact hundredths).
        rv = revenue if revenue is not None else total
        e.revenue = None if rv is None else rv.quantize(MONEY_Q)
        e.total = None if total is None else total.quantize(MONEY_Q)
        e.currency = currency
        # pipeline.md: the client's own session id (properties.$session_id, context.sessionId).
        cs = _id_text(props.get("$session_id"))
        e.category = props.get("category")
        e.product_id = _id_text(props.get("product_id"))
    else:
        e.order_id = e.revenue = e.total = e.currency = cs = e.category = e.product_id = None
    if cs is None and ctx:
        cs = _id_text(ctx.get("sessionId"))
    e.client_session = cs
    e.products = products
    return e


# ----------------------------------------------------------------------------------------------
# the pipeline: decode -> validate -> dedup -> log (pipeline.md)

_xxh = None


def _xxh3():
    """XXH3-64 from the system's libxxhash through ctypes, when there is one: only to show the id
    the engine gives a message without messageId (events.md: `cp-` and 16 hex digits of the xxh3
    hash of the message's own text). Dedup itself does not need it (equal text, equal id)."""
    global _xxh
    if _xxh is None:
        _xxh = False
        try:
            import ctypes
            import ctypes.util
            name = ctypes.util.find_library("xxhash") or "libxxhash.so.0"
            lib = ctypes.CDLL(name)
            f = lib.XXH3_64bits
            f.restype = ctypes.c_uint64
            f.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
            _xxh = f
        except (OSError, AttributeError):
            _xxh = False
    return _xxh


def content_id(text, e):
    """(dedup key, message id) of a message without messageId (events.md).
    DOC-GAP: the seed of an untimed message ("seeded with its event time": in which unit?) is not
    documented; such a message's id is not computed (the key is its text and its event time)."""
    if e.timed:
        f = _xxh3()
        if f:
            mid = "cp-%016x" % f(text, len(text))
            return mid, mid
        return ("text", text), None
    return ("text", text, e.event_time), None


class State:
    def __init__(self, cfg):
        self.cfg = cfg
        self.window = cfg["dedup_window"]
        self.lateness = cfg["allowed_lateness"]
        self.max_event = cfg["max_event_bytes"]
        self.max_request = cfg["max_request_bytes"]
        self.max_batch = cfg["max_batch_events"]
        self.now = cfg["now"]
        self.now_map = cfg.get("now_map") or {}
        self.events = []           # accepted, by offset
        self.seen = {}             # message key -> receive second (rounded up) of the latest accepted
        self.duplicates = []       # dicts
        self.dead = []             # dicts
        self.max_et = None         # newest accepted event time

    def recv_for(self, source, delivery):
        """The engine's clock for a record without receivedAt: --now, or the engine's own receive
        time of that delivery (compare.py --now engine)."""
        if self.now_map:
            t = self.now_map.get((source, delivery))
            if t is not None:
                return t
        return self.now

    def reject(self, reason, detail, raw, source, delivery, line):
        # events.md "Rejections": the raw bytes, for `too_large` only the first 4,096 bytes.
        if reason == "too_large" and raw is not None:
            raw = raw[:4096]
        self.dead.append({"reason": reason, "detail": detail, "raw": raw, "source": source,
                          "delivery": delivery, "line": line})

    def accept(self, e, text, source, delivery, line):
        """text: the message's own bytes (for the id of a message without messageId)."""
        key = e.message_id
        if key is None:
            key, e.message_id = content_id(text, e)
        # pipeline.md "Dedup, exactly": a duplicate when the messageId's latest accepted delivery
        # was received at most dedup_window before or after it, receive times in whole seconds,
        # each rounded up.
        sec = -(-e.received_at // US)
        prev = self.seen.get(key)
        if prev is not None and abs(sec - prev) * US <= self.window:
            self.duplicates.append({"message_id": e.message_id, "received_at": e.received_at,
                                    "source": source, "delivery": delivery})
            return
        self.seen[key] = sec
        e.msg_key = key
        e.offset = len(self.events)
        e.delivery = delivery
        e.line = line
        e.source = source
        # pipeline.md "Late events": watermark = newest accepted event time - allowed_lateness;
        # an accepted event older than it is late.
        if self.max_et is not None and e.event_time < self.max_et - self.lateness:
            e.late = True
        if self.max_et is None or e.event_time > self.max_et:
            self.max_et = e.event_time
        self.events.append(e)


def process_line(st, raw, source, pos, lineno):
    """One line of JSON Lines. The decoding rules in events.md's order: not_json, too_deep,
    invalid_utf8, too_large, then the message's own."""
    where = str(pos)
    try:
        text = raw.decode("utf-8")
        bad_utf8 = None
    except UnicodeDecodeError as ex:
        text = raw.decode("utf-8", "surrogateescape")
        bad_utf8 = ex.start
    try:
        doc = _decode(text)
    except (ValueError, RecursionError) as ex:
        # DOC-GAP: a line that is both invalid UTF-8 and not JSON: not_json (checked first).
        st.reject("not_json", str(ex), raw, source, where, lineno)
        return
    # events.md: nesting deeper than 64. DOC-GAP: the line's top-level value is depth 1, and a
    # batch nested too deep is rejected whole.
    if text.count("{") + text.count("[") > 64 and _max_depth(doc) > 64:
        st.reject("too_deep", "nesting deeper than 64", raw, source, where, lineno)
        return
    surrogate = bad_utf8 is not None or ("\\u" in text and _has_surrogate(doc))
    is_batch = type(doc) is dict and "batch" in doc
    if surrogate and not is_batch:
        st.reject("invalid_utf8", "invalid UTF-8 at byte %s" % bad_utf8, raw, source, where, lineno)
        return
    if len(raw) > st.max_request:
        st.reject("too_large", "line of %d bytes over the request limit" % len(raw), raw, source,
                  where, lineno)
        return
    if is_batch:
        process_batch(st, doc, text, raw, source, pos, lineno, surrogate)
        return
    # DOC-GAP: collector.max_event_bytes applies to file lines too (the event's bytes).
    if len(raw) > st.max_event:
        st.reject("too_large", "event of %d bytes over collector.max_event_bytes" % len(raw), raw,
                  source, where, lineno)
        return
    try:
        e = decode_message(doc, "", st.recv_for(source, where))
    except Reject as r:
        st.reject(r.reason, r.detail, raw, source, where, lineno)
        return
    st.accept(e, raw, source, where, lineno)


def process_batch(st, doc, text, raw, source, pos, lineno, surrogate):
    batch = doc["batch"]
    if type(batch) is not list:
        st.reject("wrong_type", "batch: expected an array, got %s" % _tname(batch), raw, source,
                  str(pos), lineno)
        return
    if len(batch) > st.max_batch:
        # DOC-GAP: a batch over collector.max_batch_events is one dead letter (the whole line).
        st.reject("too_many_events", "batch of %d events" % len(batch), raw, source, str(pos),
                  lineno)
        return
    env_ctx = doc.get("context")
    env_int = doc.get("integrations")
    env_sent = doc.get("sentAt")
    # DOC-GAP: an envelope's context or integrations that is not an object: the whole batch is
    # rejected as wrong_type.
    for k, v in (("context", env_ctx), ("integrations", env_int)):
        if v is not None and type(v) is not dict:
            st.reject("wrong_type", "%s: expected an object, got %s" % (k, _tname(v)), raw, source,
                      str(pos), lineno)
            return
    if surrogate and not any(_has_surrogate(el) for el in batch):
        # invalid UTF-8 outside the elements: the whole line
        st.reject("invalid_utf8", "invalid UTF-8", raw, source, str(pos), lineno)
        return
    spans = None
    for i, el in enumerate(batch):
        # pipeline.md: `at` is the byte position, `.n` for the n-th element of a batch envelope.
        # DOC-GAP: whether n counts from 0 or 1; from 1 taken ("the n-th element").
        delivery = "%d.%d" % (pos, i + 1)
        if spans is None and (len(raw) > st.max_event or surrogate
                              or (type(el) is dict and el.get("messageId") is None)):
            spans = _element_spans(text)
        if spans is not None:
            s, e_ = spans[i]
            el_raw = text[s:e_].encode("utf-8", "surrogateescape")
        else:
            el_raw = None
        if surrogate and _has_surrogate(el):
            # DOC-GAP: invalid UTF-8 inside one element rejects that element alone.
            st.reject("invalid_utf8", "invalid UTF-8", el_raw, source, delivery, lineno)
            continue
        if el_raw is not None and len(el_raw) > st.max_event:
            st.reject("too_large", "event of %d bytes over collector.max_event_bytes" % len(el_raw),
                      el_raw, source, delivery, lineno)
            continue
        if type(el) is dict:
            # events.md: context and integrations merged shallowly (the element's own keys win),
            # sentAt for elements without one.
            m = dict(el)
            if env_ctx is not None:
                c = m.get("context")
                if c is None:
                    m["context"] = dict(env_ctx)
                elif type(c) is dict:
                    m["context"] = {**env_ctx, **c}
            if env_int is not None:
                c = m.get("integrations")
                if c is None:
                    m["integrations"] = dict(env_int)
                elif type(c) is dict:
                    m["integrations"] = {**env_int, **c}
            if env_sent is not None and m.get("sentAt") is None:
                m["sentAt"] = env_sent
        else:
            m = el
        try:
            e = decode_message(m, "batch[%d]." % i, st.recv_for(source, delivery))
        except Reject as r:
            if el_raw is None:
                # the element's own bytes (pipeline.md: a dead letter keeps the raw bytes)
                spans = _element_spans(text)
                s, e_ = spans[i]
                el_raw = text[s:e_].encode("utf-8", "surrogateescape")
            st.reject(r.reason, r.detail, el_raw, source, delivery, lineno)
            continue
        st.accept(e, el_raw, source, delivery, lineno)


def ingest_file(st, path):
    """JSON Lines (events.md "Inputs"): blank lines are skipped, \r\n is accepted. Lines are
    numbered from 1; a record's position is the byte offset of its line (pipeline.md `at`)."""
    source = "file:" + os.path.abspath(path)
    lineno = 0
    base = 0          # file position of buf[0]
    buf = b""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 24)
            last = not chunk
            if not last:
                buf = buf + chunk if buf else chunk
            start = 0
            find = buf.find
            while True:
                nl = find(b"\n", start)
                if nl < 0:
                    if not last or start >= len(buf):
                        break
                    nl = len(buf)  # a last line without a newline
                lineno += 1
                # events.md "Rejections": a line is taken without its line break (\r\n is
                # accepted) and the blanks around it (spaces, tabs, carriage returns)
                raw = buf[start:nl].strip(b" \t\r")
                # events.md: blank lines are skipped. DOC-GAP: a line of blanks only is blank too.
                if raw and not raw.isspace():
                    process_line(st, raw, source, base + start, lineno)
                start = nl + 1
            base += start
            buf = buf[start:]
            if last:
                break


# ----------------------------------------------------------------------------------------------
# derived silver: identity map, sessions, customers, orders

def build_identity_map(events):
    """pipeline.md: identity_map, anonymousId -> userId link (derived); design.md 3: each
    anonymousId is linked to the first userId seen with it (an identify, or any event carrying
    both).
    DOC-GAP: "first" is read in event time (ties by offset), as the derived tables are a
    recomputation from all of events; first_seen is that first link's event time."""
    best = {}
    for e in events:
        a = e.anonymous_id
        if a is not None and e.user_id is not None:
            k = (e.event_time, e.offset)
            b = best.get(a)
            if b is None or k < b[0]:
                best[a] = (k, e.user_id)
    return {a: {"user_id": v[1], "first_seen": v[0][0]} for a, v in best.items()}


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None
    if n % 2:
        return Decimal(xs[n // 2])
    # pipeline.md (bots): the median of an even count is the mean of the two middle values.
    # schema.yml sessions_summary.median_duration_s says the same.
    return (Decimal(xs[n // 2 - 1]) + Decimal(xs[n // 2])) / 2


def build_sessions(events, idmap, timeout, cap=DAY_US):
    """pipeline.md "Sessions": per identity (anonymousId, else userId) in event-time order (ties by
    log offset), a new session when the gap since the previous event is longer than
    session_timeout (exactly the timeout continues), when the event is 24 hours or more after the
    session's start, or when the event carries a client session id (properties.$session_id, else
    context.sessionId) other than the session's — a session takes the first client id it sees.
    Bot: a known crawler's user agent, or >= 15 page views, a median of under 2.5 s between them
    and no other kind of event."""
    per = {}
    for e in events:
        per.setdefault(e.identity, []).append(e)
    sessions = []
    ev_session = {}
    for ident, evs in per.items():
        evs.sort(key=lambda e: (e.event_time, e.offset))
        cur = None
        last_t = None
        client = None
        for e in evs:
            t = e.event_time
            new = cur is None
            if not new:
                if t - last_t > timeout or t - cur[0].event_time >= cap:
                    new = True
                elif e.client_session is not None and client is not None and e.client_session != client:
                    new = True
            if new:
                cur = []
                sessions.append((ident, cur))
                client = None
            cur.append(e)
            if client is None and e.client_session is not None:
                client = e.client_session
            last_t = t
    out = []
    for ident, evs in sessions:
        s = make_session(ident, evs, idmap)
        out.append(s)
        for e in evs:
            ev_session[e.offset] = s
    return out, ev_session


def make_session(ident, evs, idmap):
    first = evs[0]
    pages = [e for e in evs if e.type == "page"]
    s = {}
    s["identity"] = ident
    s["anonymous_id"] = first.anonymous_id
    s["first_offset"] = first.offset
    # pipeline.md: a session's user_id is the last userId among its events (NULL when none).
    uid = None
    for e in evs:
        if e.user_id is not None:
            uid = e.user_id
    s["user_id"] = uid
    # schema.yml sessions_summary.daily_active: a person is the session's userId, else the userId
    # its device (anonymousId) was linked to, else its anonymousId. The same person owns the
    # session in every customer mart (dim_customers.first_seen: "anonymous browsing linked by
    # identify included").
    pu = uid
    if pu is None and first.anonymous_id is not None:
        m = idmap.get(first.anonymous_id)
        if m is not None:
            pu = m["user_id"]
    s["person_user"] = pu
    s["person"] = pu if pu is not None else ident
    s["start_time"] = first.event_time
    s["end_time"] = evs[-1].event_time
    s["start_date"] = day_of(first.event_time)
    s["duration_s"] = Decimal(evs[-1].event_time - first.event_time) / US
    s["events"] = len(evs)
    s["pageviews"] = len(pages)
    # DOC-GAP: "its user agent is a known crawler": any of its events' user agents.
    bot = any(e.is_bot for e in evs)
    if not bot and len(pages) >= 15 and len(pages) == len(evs):
        gaps = [pages[i + 1].event_time - pages[i].event_time for i in range(len(pages) - 1)]
        # pipeline.md: a median of under 2.5 s between consecutive page views; the median of an
        # even number of gaps is the mean of the two middle ones.
        if _median(gaps) < Decimal(2.5) * US:
            bot = True
    s["is_bot"] = bot
    kinds = {e.kind for e in evs}
    # pipeline.md: product_view, cart, checkout and purchase say the session has a Product
    # Viewed, Product Added, Checkout Started, Order Completed event.
    s["product_view"] = s["has_product_view"] = "product_viewed" in kinds
    s["cart"] = s["has_cart_add"] = "product_added" in kinds
    s["checkout"] = "checkout_started" in kinds
    s["purchase"] = s["has_order"] = "order_completed" in kinds
    # schema.yml funnel_daily: a step counts when the session has its event and the events of
    # every step before it, in whatever order.
    s["funnel_product_view"] = s["product_view"]
    s["funnel_cart"] = s["funnel_product_view"] and s["cart"]
    s["funnel_checkout"] = s["funnel_cart"] and s["checkout"]
    s["funnel_purchase"] = s["funnel_checkout"] and s["purchase"]
    # pipeline.md: its landing path, UTM fields, country and device type are its first event's
    # (NULL where that event has none).
    s["landing_path"] = first.page_path
    s["utm_source"] = first.utm_source
    s["utm_medium"] = first.utm_medium
    s["utm_campaign"] = first.utm_campaign
    s["country"] = first.country
    s["device_type"] = first.device_type
    return s


def build_customers(events, idmap):
    """pipeline.md: customers, one row per known customer (userId: e-mail, name, country of the
    latest event, first and last seen, sign-up, events). "A customer's first_seen is their first
    event with their userId or on a device linked to them — the anonymous browsing before identify
    counts; last_seen, events, country (of the latest of them that has one), e-mail and name (the
    latest given) come from the events that carry their userId" (schema.yml dim_customers: country
    "of the latest event carrying their userId that has one", last_seen "the customer's latest event
    carrying their userId").
    DOC-GAP: signed_up_at (the first Signed Up) is taken from the events carrying their userId too;
    e-mail and name "the latest given" are the latest identify's traits by event time (ties by
    offset); last_offset (dim_customers.customers_offset, "log offset of their latest event")
    is the largest offset of the events carrying their userId (their events, as last_seen's)."""
    cust = {}
    for e in events:
        u = e.user_id
        own = u is not None
        if not own:
            m = idmap.get(e.anonymous_id)
            if m is None:
                continue
            u = m["user_id"]
        c = cust.get(u)
        k = (e.event_time, e.offset)
        if c is None:
            c = cust[u] = {"user_id": u, "email": None, "email_domain": None, "name": None,
                           "country": None, "first_seen": e.event_time, "last_seen": None,
                           "signed_up_at": None, "events": 0, "last_offset": None,
                           "_first": k, "_last": None, "_ck": None, "_ek": None, "_nk": None}
        if k < c["_first"]:
            c["_first"] = k
            c["first_seen"] = e.event_time
        if not own:
            continue
        if c["last_offset"] is None or e.offset > c["last_offset"]:
            c["last_offset"] = e.offset
        c["events"] += 1
        if c["_last"] is None or k > c["_last"]:
            c["_last"] = k
            c["last_seen"] = e.event_time
        if e.country is not None and (c["_ck"] is None or k > c["_ck"]):
            c["_ck"] = k
            c["country"] = e.country
        if e.type == "identify":
            if e.email is not None and (c["_ek"] is None or k > c["_ek"]):
                c["_ek"] = k
                c["email"] = e.email
                c["email_domain"] = e.email_domain
            if e.name is not None and (c["_nk"] is None or k > c["_nk"]):
                c["_nk"] = k
                c["name"] = e.name
        if e.kind == "signed_up" and (c["signed_up_at"] is None or e.event_time < c["signed_up_at"]):
            c["signed_up_at"] = e.event_time
    for c in cust.values():
        for k in ("_first", "_last", "_ck", "_ek", "_nk"):
            del c[k]
    return cust


def build_orders(events):
    """pipeline.md: orders, one row per order (order_id): the first Order Completed of an order_id
    in the log; a later one with the same order_id stays in events but adds no order.
    order_items: its products (events.md: properties.products[], or the flat fields).
    schema.yml fct_purchases.revenue: the revenue property, else total, else the sum of the
    products' price x quantity. DOC-GAP: silver orders.revenue is taken the same way (pipeline.md
    does not say); a line without a price adds nothing to that sum."""
    orders = {}
    items = {}
    for e in events:
        if e.kind != "order_completed":
            continue
        oid = e.order_id
        if oid is None or oid in orders:
            continue
        prods = e.products or []
        units = 0
        lines = []
        lines_sum = Decimal(0)
        for i, (pid, sku, name, cat, price, q) in enumerate(prods):
            units += q
            if price is not None:
                lines_sum += price * q
            # DOC-GAP: order lines are numbered from 1.
            lines.append({"order_id": oid, "line": i + 1, "offset": e.offset, "product_id": pid,
                          "sku": sku, "name": name, "category": cat, "price": price, "quantity": q})
        revenue = e.revenue if e.revenue is not None else (lines_sum if prods else None)
        orders[oid] = {"offset": e.offset, "order_id": oid, "message_id": e.message_id,
                       "user_id": e.user_id, "anonymous_id": e.anonymous_id,
                       "event_time": e.event_time, "event_date": e.event_date,
                       "revenue": revenue, "total": e.total, "currency": e.currency,
                       "country": e.country, "items": len(lines), "units": units}
        for ln in lines:
            items[(oid, ln["line"])] = ln
    return orders, items


def build_refunds(events):
    """pipeline.md: refunds, one row per Order Refunded event: its order_id, identities, time and
    amount (its revenue, else total, else the sum of price x quantity of its products); any number
    per order, whole or by products."""
    out = []
    for e in events:
        if e.kind != "order_refunded":
            continue
        amount = e.revenue
        if amount is None and e.products:
            amount = sum(((p[4] or 0) * p[5] for p in e.products), Decimal(0))
        out.append({"offset": e.offset, "order_id": e.order_id, "message_id": e.message_id,
                    "user_id": e.user_id, "anonymous_id": e.anonymous_id,
                    "event_time": e.event_time, "event_date": e.event_date, "amount": amount,
                    "currency": e.currency})
    return out


# models.md "Currencies are never added together": the built-in table of rates to the US dollar,
# from 2000-01-01.
BUILTIN_RATES = {"EUR": "1.08", "GBP": "1.27", "JPY": "0.0067", "CAD": "0.74", "AUD": "0.66",
                 "CHF": "1.12", "SEK": "0.095", "NOK": "0.093", "DKK": "0.145", "PLN": "0.25",
                 "CZK": "0.043", "INR": "0.012", "CNY": "0.138", "BRL": "0.2", "MXN": "0.058"}
RATE_Q = Decimal("0.00000001")


class Rates:
    """One unit of a currency in the reporting currency on a day: the latest rate dated on or
    before it (currency.rates, a CSV `date,currency,rate` with a header line), else the built-in
    table (in another reporting currency than USD the cross rates rounded to 8 decimals;
    DOC-GAP: halves away from zero taken). The reporting currency is 1."""

    def __init__(self, reporting="USD", csv_path=None):
        self.reporting = reporting
        self.table = {}
        if csv_path:
            import csv
            with open(csv_path, newline="") as f:
                rows = list(csv.reader(f))
            for r in rows[1:]:
                if len(r) >= 3 and r[0].strip():
                    self.table.setdefault(r[1].strip(), []).append((r[0].strip(),
                                                                    Decimal(r[2].strip())))
        else:
            usd = {k: Decimal(v) for k, v in BUILTIN_RATES.items()}
            usd["USD"] = Decimal(1)
            if reporting in usd:
                base = usd[reporting]
                for k, v in usd.items():
                    r = v if reporting == "USD" else (v / base).quantize(RATE_Q, ROUND_HALF_UP)
                    self.table[k] = [("2000-01-01", r)]
        for v in self.table.values():
            v.sort()

    def rate(self, cur, day):
        if cur == self.reporting:
            return Decimal(1)
        best = None
        for d, r in self.table.get(cur, ()):
            if d <= day:
                best = r
            else:
                break
        return best


def convert(amount, rate):
    """models.md: converted at the rate of its day and rounded to the cent, halves away from zero."""
    with localcontext() as c:
        c.prec = 60
        return (amount * rate).quantize(MONEY_Q, rounding=ROUND_HALF_UP)


# ----------------------------------------------------------------------------------------------
# gold (schema.yml)

def _div(a, b):
    if b == 0 or a is None:
        return None
    with localcontext() as c:
        c.prec = 40
        return Decimal(a) / Decimal(b)


def _rdiv(a, b, places):
    """schema.yml: a share or average that is not money is "computed exactly, rounded to N
    decimals, halves away from zero" (models.md ratio_round: integers divided, durations in
    milliseconds, so 0.55 s is 0.6). The exact quotient is rounded (halves away from zero)."""
    if b == 0 or a is None:
        return None
    with localcontext() as c:
        c.prec = 60
        return (Decimal(a) / Decimal(b)).quantize(Decimal(1).scaleb(-places),
                                                   rounding=ROUND_HALF_UP)


def _round(x, places):
    if x is None:
        return None
    return Decimal(x).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def money_avg(total, n):
    """models.md: an average amount is total / n rounded to the cent, halves away from zero."""
    if not n or total is None:
        return None
    with localcontext() as c:
        c.prec = 60
        return (Decimal(total) / n).quantize(MONEY_Q, rounding=ROUND_HALF_UP)


def _msum(xs):
    t = Decimal(0)
    for x in xs:
        if x is not None:
            t += x
    return t


def gold(events, sessions, ev_session, idmap, cust, orders, items, refunds, rates):
    G = {}
    # ---- fct_purchases: one row an order --------------------------------------------------------
    # schema.yml: user_id is the order's userId, else the userId its device was linked to (before
    # or after the order); revenue in the reporting currency at the rate of the order's day,
    # rounded to the cent (halves away from zero), NULL without a rate; refunded: its refunds'
    # amounts, each at the rate of the refund's day (its currency, else the order's); net_revenue
    # = revenue - refunded.
    by_order_refunds = {}
    for f in refunds:
        by_order_refunds.setdefault(f["order_id"], []).append(f)
    fct = {}
    for o in orders.values():
        t = o["event_time"]
        d = day_of(t)
        uid = o["user_id"]
        if uid is None and o["anonymous_id"] is not None:
            m = idmap.get(o["anonymous_id"])
            if m is not None:
                uid = m["user_id"]
        cur = o["currency"] or rates.reporting
        rate = rates.rate(cur, d)
        rev = None if rate is None or o["revenue"] is None else convert(o["revenue"], rate)
        refunded = Decimal(0)
        ro = None
        for f in by_order_refunds.get(o["order_id"], []):
            fc = f["currency"] or cur
            fr = rates.rate(fc, f["event_date"])
            # DOC-GAP: a refund in a currency without a rate returns nothing countable (left out).
            if fr is not None and f["amount"] is not None:
                refunded += convert(f["amount"], fr)
            ro = f["offset"] if ro is None else max(ro, f["offset"])
        fct[o["order_id"]] = {
            "offset": o["offset"], "user_id": uid, "anonymous_id": o["anonymous_id"],
            "purchased_at": t, "purchase_date": d,
            "year": int(d[:4]), "month": int(d[5:7]), "day": int(d[8:10]),
            "hour": (t % DAY_US) // (3600 * US), "revenue": rev,
            "revenue_original": o["revenue"], "rate": rate, "refunded": refunded,
            # DOC-GAP: net_revenue of an order without a rate: NULL (revenue is NULL).
            "net_revenue": None if rev is None else rev - refunded,
            "refunds_offset": ro, "currency": cur,
            "country": o["country"], "items": o["items"], "units": o["units"]}
    G["fct_purchases"] = fct

    # ---- daily_sales_summary --------------------------------------------------------------------
    # schema.yml: orders, units, revenue, customers by the day of the orders; refunds by the day
    # they were made (whichever order they refer to); a row for a day with either.
    ds = {}

    def day_row(d):
        r = ds.get(d)
        if r is None:
            r = ds[d] = {"orders": 0, "units": 0, "revenue": Decimal(0), "_c": set(),
                         "unconverted_orders": 0, "refund_count": 0, "refunds": Decimal(0)}
        return r
    for o in fct.values():
        r = day_row(o["purchase_date"])
        r["orders"] += 1
        r["units"] += o["units"]
        if o["revenue"] is None:
            r["unconverted_orders"] += 1
        else:
            r["revenue"] += o["revenue"]
        if o["user_id"] is not None:
            r["_c"].add(o["user_id"])
    for f in refunds:
        r = day_row(f["event_date"])
        r["refund_count"] += 1
        o = fct.get(f["order_id"])
        # DOC-GAP: the currency of a refund that names no currency and no known order: the
        # reporting currency.
        fc = f["currency"] or (o["currency"] if o is not None else rates.reporting)
        fr = rates.rate(fc, f["event_date"])
        if fr is not None and f["amount"] is not None:
            r["refunds"] += convert(f["amount"], fr)
    for r in ds.values():
        r["customers"] = len(r.pop("_c"))
        # schema.yml: revenue / (orders - unconverted_orders); NULL on a day without converted
        # orders.
        conv = r["orders"] - r["unconverted_orders"]
        r["avg_order_value"] = money_avg(r["revenue"], conv) if conv else None
        r["net_revenue"] = r["revenue"] - r["refunds"]
    G["daily_sales_summary"] = ds

    # ---- dim_customers --------------------------------------------------------------------------
    by_user = {}
    for o in fct.values():
        if o["user_id"] is not None:
            by_user.setdefault(o["user_id"], []).append(o)
    dim = {}
    for u, c in cust.items():
        os_ = by_user.get(u, [])
        # schema.yml: orders but for those refunded in full (refunded > 0 and refunded >=
        # revenue); total_spent the net revenue of all their orders.
        n = sum(1 for o in os_ if not (o["refunded"] > 0 and o["revenue"] is not None
                                       and o["refunded"] >= o["revenue"]))
        # DOC-GAP: an order without a rate (net NULL) adds nothing to total_spent; total_spent
        # of a customer without orders is 0.
        spent = _msum(o["net_revenue"] for o in os_)
        # schema.yml: avg_order_value = total_spent / the orders counted in orders that have a
        # revenue in the reporting currency (an order whose currency has no rate counts in orders,
        # not here), rounded to the cent (halves away from zero); NULL without such orders.
        nr = sum(1 for o in os_ if o["revenue"] is not None
                 and not (o["refunded"] > 0 and o["refunded"] >= o["revenue"]))
        seg = ("No Purchases" if n == 0 else "One-time" if n == 1 else "Regular" if n <= 4
               else "Frequent")
        ros = [o["refunds_offset"] for o in os_ if o["refunds_offset"] is not None]
        dim[u] = {
            "email": c["email"], "email_domain": c["email_domain"], "name": c["name"],
            "country": c["country"], "signed_up_at": c["signed_up_at"],
            "first_seen": c["first_seen"], "last_seen": c["last_seen"], "orders": n,
            "total_spent": spent,
            "avg_order_value": money_avg(spent, nr) if nr else None,
            # DOC-GAP: first and last purchase over all their orders, refunded ones included.
            "first_purchase": min((o["purchased_at"] for o in os_), default=None),
            "last_purchase": max((o["purchased_at"] for o in os_), default=None),
            "segment": seg,
            # DOC-GAP: orders_offset and refunds_offset without any: NULL.
            "orders_offset": max((o["offset"] for o in os_), default=None),
            "refunds_offset": max(ros, default=None),
            "customers_offset": c["last_offset"]}
    G["dim_customers"] = dim

    # ---- country_summary ------------------------------------------------------------------------
    cs = {}
    for o in fct.values():
        # DOC-GAP: an order without a country: grouped under 'unknown'.
        k = o["country"] if o["country"] is not None else "unknown"
        r = cs.setdefault(k, {"orders": 0, "revenue": Decimal(0), "_c": set(), "_n": 0})
        r["orders"] += 1
        if o["revenue"] is not None:
            r["revenue"] += o["revenue"]
            r["_n"] += 1
        if o["user_id"] is not None:
            r["_c"].add(o["user_id"])
    for r in cs.values():
        r["customers"] = len(r.pop("_c"))
        # schema.yml: revenue / the orders that have a revenue (in a currency with a rate).
        # DOC-GAP: NULL when none has.
        r["avg_order_value"] = money_avg(r["revenue"], r.pop("_n"))
    G["country_summary"] = cs

    # ---- sessions of people (models.md stg_sessions: people only, with a page view) -------------
    people = [s for s in sessions if not s["is_bot"] and s["pageviews"] > 0]

    # ---- funnel_daily ---------------------------------------------------------------------------
    fd = {}
    for s in people:
        r = fd.setdefault(s["start_date"], {"sessions": 0, "product_view": 0, "cart": 0,
                                            "checkout": 0, "purchase": 0, "_o": 0, "_pv": 0})
        r["sessions"] += 1
        r["product_view"] += s["funnel_product_view"]
        r["cart"] += s["funnel_cart"]
        r["checkout"] += s["funnel_checkout"]
        r["purchase"] += s["funnel_purchase"]
        r["_o"] += s["has_order"]
        r["_pv"] += s["has_product_view"]
    for r in fd.values():
        # schema.yml: conversion = sessions with an Order Completed / sessions; drop_off_before_
        # product = 1 - product_view / sessions; each rounded to 4 decimals, halves away from zero.
        r["conversion"] = _rdiv(r.pop("_o"), r["sessions"], 4)
        r["drop_off_before_product"] = _rdiv(r["sessions"] - r.pop("_pv"), r["sessions"], 4)
    G["funnel_daily"] = fd

    # ---- sessions_summary -----------------------------------------------------------------------
    ss = {}
    for s in sessions:
        r = ss.setdefault(s["start_date"], {"sessions": 0, "bot_sessions": 0, "_d": [], "_e": 0,
                                            "_a": set()})
        if s["is_bot"]:
            r["bot_sessions"] += 1
        else:
            # schema.yml: sessions of people that started that day, with or without a page view
            # (the silver sessions). daily_active: distinct people with a session that day (bots
            # excluded); a person is the session's userId, else the userId its anonymousId was
            # linked to, else its anonymousId.
            r["sessions"] += 1
            r["_d"].append(s["duration_s"])
            r["_e"] += s["events"]
            r["_a"].add(s["person"])
    # DOC-GAP: a day with bot sessions only has a row (sessions 0, averages NULL).
    for r in ss.values():
        d = r.pop("_d")
        # schema.yml: rounded to 1, 1 and 2 decimals, halves away from zero; the median of an
        # even count is the mean of the two middle ones.
        r["avg_duration_s"] = _rdiv(sum(d, Decimal(0)), len(d), 1)
        r["median_duration_s"] = _round(_median(d), 1)
        r["avg_events"] = _rdiv(r.pop("_e"), len(d), 2)
        r["daily_active"] = len(r.pop("_a"))
    G["sessions_summary"] = ss

    # ---- acquisition ----------------------------------------------------------------------------
    # schema.yml ml_features.sessions: a customer's sessions are the sessions with a page view
    # (stg_sessions: people only) that are theirs — "a session is one person's, its userId, else
    # the userId its device was linked to by identify (a session whose userId is another
    # customer's is that customer's)". DOC-GAP: acquisition.utm_source ("theirs by userId, or of a
    # device linked to them by identify") is read the same way.
    user_sessions = {}
    for s in people:
        if s["person_user"] is not None:
            user_sessions.setdefault(s["person_user"], []).append(s)
    acq = {}
    for u, c in dim.items():
        ss_ = user_sessions.get(u, [])
        # schema.yml: the customer's first session with a page view. DOC-GAP: the earliest by
        # start (ties: the first identity's by its first event's offset); bots' sessions left out.
        f = min(ss_, key=lambda s: (s["start_time"], s["first_offset"])) if ss_ else None
        key = (day_of(c["first_seen"]),
               (f and f["utm_source"]) or "(direct)",
               (f and f["utm_medium"]) or "(none)",
               (f and f["utm_campaign"]) or "(none)")
        acq[key] = acq.get(key, 0) + 1
    G["acquisition"] = {k: {"new_customers": v} for k, v in acq.items()}

    # ---- customer_monthly -----------------------------------------------------------------------
    cm = {}
    for o in fct.values():
        if o["user_id"] is None:
            continue
        r = cm.setdefault((o["user_id"], month_of(o["purchased_at"])),
                          {"orders": 0, "units": 0, "revenue": Decimal(0),
                           "net_revenue": Decimal(0)})
        r["orders"] += 1
        r["units"] += o["units"]
        # schema.yml: revenue of the month's orders (gross); net_revenue the same orders' revenue
        # less their refunds; each "0 when none of them has a revenue in the reporting currency".
        r["revenue"] += o["revenue"] or 0
        r["net_revenue"] += o["net_revenue"] or 0
    G["customer_monthly"] = cm

    # ---- content_preferences --------------------------------------------------------------------
    cp = {}

    def cat_row(c):
        k = c if c is not None else "(none)"
        r = cp.get(k)
        if r is None:
            r = cp[k] = {"product_views": 0, "_v": set(), "units": 0, "revenue": Decimal(0),
                         "_b": set()}
        return r
    for e in events:
        if e.kind == "product_viewed":
            s = ev_session.get(e.offset)
            # DOC-GAP: "product views of people": views in sessions that are not bots'.
            if s is not None and s["is_bot"]:
                continue
            r = cat_row(e.category)
            r["product_views"] += 1
            r["_v"].add(e.identity)
    for it in items.values():
        r = cat_row(it["category"])
        r["units"] += it["quantity"]
        o = fct[it["order_id"]]
        # models.md: every revenue figure is in the reporting currency. DOC-GAP: a line's
        # price x quantity is converted at its order's rate and rounded to the cent line by line;
        # a line without a price, or of an order without a rate, adds no revenue. Gross of refunds.
        if it["price"] is not None and o["rate"] is not None:
            r["revenue"] += convert(it["price"] * it["quantity"], o["rate"])
        if o["user_id"] is not None:
            r["_b"].add(o["user_id"])
    for r in cp.values():
        r["viewers"] = len(r.pop("_v"))
        r["buyers"] = len(r.pop("_b"))
        r["units_per_view"] = _rdiv(r["units"], r["product_views"], 4)
    G["content_preferences"] = cp

    # ---- conversion_insights --------------------------------------------------------------------
    ci = {}
    for s in people:
        k = (s["device_type"] or "unknown", s["utm_source"] or "(direct)", s["country"] or "unknown")
        r = ci.setdefault(k, {"sessions": 0, "converted": 0, "_d": Decimal(0), "_p": 0})
        r["sessions"] += 1
        r["converted"] += s["has_order"]
        r["_d"] += s["duration_s"]
        r["_p"] += s["pageviews"]
    for r in ci.values():
        # schema.yml: rounded to 4, 1 and 2 decimals, halves away from zero.
        r["conversion"] = _rdiv(r["converted"], r["sessions"], 4)
        r["avg_duration_s"] = _rdiv(r.pop("_d"), r["sessions"], 1)
        r["avg_pageviews"] = _rdiv(r.pop("_p"), r["sessions"], 2)
    G["conversion_insights"] = ci

    # ---- retention_cohorts ----------------------------------------------------------------------
    months = {}
    for o in fct.values():
        if o["user_id"] is not None:
            months.setdefault(o["user_id"], set()).add(month_of(o["purchased_at"]))
    rc = {}
    size = {}
    for u, ms in months.items():
        c = min(ms)
        size[c] = size.get(c, 0) + 1
        for m in ms:
            k = (c, (int(m[:4]) - int(c[:4])) * 12 + int(m[5:7]) - int(c[5:7]))
            rc[k] = rc.get(k, 0) + 1
    # DOC-GAP: months in which none of a cohort ordered have no row.
    G["retention_cohorts"] = {k: {"customers": v, "retention": _rdiv(v, size[k[0]], 4)}
                              for k, v in rc.items()}

    # ---- ml_features ----------------------------------------------------------------------------
    # schema.yml: recency_days and tenure_days are calendar days (UTC dates, datediff('day')) to
    # the latest last_seen of any customer (models.md: the latest event of any customer).
    latest = max((d["last_seen"] for d in dim.values() if d["last_seen"] is not None),
                 default=None)
    mf = {}
    for u, d in dim.items():
        ss_ = user_sessions.get(u, [])
        # DOC-GAP: frequency, monetary are dim_customers' orders and total_spent (net of refunds:
        # "Orders", "Total spent").
        ref = d["last_purchase"] if d["last_purchase"] is not None else d["first_seen"]
        mf[u] = {
            "country": d["country"], "segment": d["segment"], "frequency": d["orders"],
            "monetary": d["total_spent"],
            "avg_order_value": d["avg_order_value"] if d["avg_order_value"] is not None else Decimal(0),
            "recency_days": latest // DAY_US - ref // DAY_US,
            "tenure_days": latest // DAY_US - d["first_seen"] // DAY_US,
            "sessions": len(ss_),
            "pageviews": sum(s["pageviews"] for s in ss_),
            "sessions_viewing_products": sum(1 for s in ss_ if s["has_product_view"]),
            "sessions_with_cart": sum(1 for s in ss_ if s["has_cart_add"]),
            # schema.yml: rounded to 1 decimal, halves away from zero; 0 without sessions.
            "avg_session_s": (_rdiv(sum((s["duration_s"] for s in ss_), Decimal(0)), len(ss_), 1)
                              if ss_ else Decimal(0)),
        }
    G["ml_features"] = mf
    return G


# ----------------------------------------------------------------------------------------------
# silver figures

def silver(st, sessions, idmap, cust, orders, items, rows=True):
    ev = st.events
    S = {}
    S["accepted"] = len(ev)
    bk, bd, bdk, ld = {}, {}, {}, {}
    late = 0
    for e in ev:
        bk[e.kind] = bk.get(e.kind, 0) + 1
        bd[e.event_date] = bd.get(e.event_date, 0) + 1
        k = (e.event_date, e.kind)
        bdk[k] = bdk.get(k, 0) + 1
        if e.late:
            late += 1
            ld[e.event_date] = ld.get(e.event_date, 0) + 1
    S["accepted_by_kind"] = bk
    S["accepted_by_day"] = bd
    S["accepted_by_day_kind"] = bdk
    S["late"] = late
    S["late_by_day"] = ld
    S["bot_events"] = sum(1 for e in ev if e.is_bot)
    S["duplicates"] = len(st.duplicates)
    S["rejected"] = len(st.dead)
    rr = {}
    for d in st.dead:
        rr[d["reason"]] = rr.get(d["reason"], 0) + 1
    S["rejected_by_reason"] = rr
    S["orders"] = len(orders)
    S["order_items"] = len(items)
    S["units"] = sum(o["units"] for o in orders.values())
    S["revenue"] = _msum(o["revenue"] for o in orders.values())
    rd, rc = {}, {}
    for o in orders.values():
        r = rd.setdefault(o["event_date"], {"orders": 0, "units": 0, "revenue": Decimal(0)})
        r["orders"] += 1
        r["units"] += o["units"]
        r["revenue"] += o["revenue"] or 0
        r = rc.setdefault(o["country"], {"orders": 0, "revenue": Decimal(0)})
        r["orders"] += 1
        r["revenue"] += o["revenue"] or 0
    S["orders_by_day"] = rd
    S["orders_by_country"] = rc
    S["distinct_customers"] = len({e.user_id for e in ev if e.user_id is not None})
    S["distinct_visitors"] = len({e.anonymous_id for e in ev if e.anonymous_id is not None})
    S["sessions"] = len(sessions)
    S["bot_sessions"] = sum(1 for s in sessions if s["is_bot"])
    sd = {}
    for s in sessions:
        r = sd.setdefault(s["start_date"], {"sessions": 0, "bot_sessions": 0})
        r["sessions"] += 1
        r["bot_sessions"] += s["is_bot"]
    S["sessions_by_day"] = sd
    S["identity_links"] = len(idmap)
    S["customers"] = len(cust)
    if not rows:
        return S
    # tables
    S["events"] = {e.offset: {
        "message_id": e.message_id, "type": e.type, "kind": e.kind, "event_name": e.event_name,
        "user_id": e.user_id, "anonymous_id": e.anonymous_id, "identity": e.identity,
        "event_time": e.event_time, "received_at": e.received_at, "event_date": e.event_date,
        "page_url": e.page_url, "page_path": e.page_path, "page_referrer": e.page_referrer,
        "utm_source": e.utm_source, "utm_medium": e.utm_medium, "utm_campaign": e.utm_campaign,
        "utm_term": e.utm_term, "utm_content": e.utm_content, "country": e.country,
        "locale": e.locale, "device_type": e.device_type, "is_bot": e.is_bot, "late": e.late,
        "email": e.email, "email_domain": e.email_domain, "name": e.name, "order_id": e.order_id,
        "revenue": e.revenue, "currency": e.currency, "line": e.line, "delivery": e.delivery}
        for e in ev}
    S["orders_table"] = {k: {c: v for c, v in o.items() if c != "order_id"} for k, o in orders.items()}
    S["order_items_table"] = {k: {c: v for c, v in it.items() if c not in ("order_id", "line")}
                              for k, it in items.items()}
    S["sessions_table"] = {(s["identity"], s["start_time"]): {
        c: s[c] for c in ("user_id", "end_time", "start_date", "duration_s", "events", "pageviews",
                          "is_bot", "product_view", "cart", "checkout", "purchase", "landing_path",
                          "utm_source", "utm_medium", "utm_campaign", "country", "device_type")}
        for s in sessions}
    S["customers_table"] = {u: {k: v for k, v in c.items() if k != "user_id"} for u, c in cust.items()}
    S["identity_map_table"] = idmap
    S["dead_letters_table"] = {(d["source"], d["delivery"]): {
        "reason": d["reason"], "line": d["line"], "raw": d["raw"]} for d in st.dead}
    S["duplicates_table"] = {(d["source"], d["delivery"]): {
        "message_id": d["message_id"], "received_at": d["received_at"]} for d in st.duplicates}
    return S


# ----------------------------------------------------------------------------------------------

def make_config(args):
    cfg = dict(DEFAULTS)
    for kv in args.set or []:
        k, _, v = kv.partition("=")
        cfg[k.strip()] = v.strip()
    if args.dedup_window:
        cfg["pipeline.dedup_window"] = args.dedup_window
    if args.session_timeout:
        cfg["pipeline.session_timeout"] = args.session_timeout
    if args.allowed_lateness:
        cfg["pipeline.allowed_lateness"] = args.allowed_lateness
    now = None
    now_map = None
    if args.now and args.now != "engine":
        now = parse_rfc3339(args.now)
        if now is None:
            raise SystemExit("--now: not an RFC 3339 time: %s" % args.now)
    if getattr(args, "now_map", None):
        with open(args.now_map) as f:
            now_map = {}
            for k, v in json.load(f).items():
                src, _, at = k.rpartition("|")
                now_map[(src, at)] = parse_rfc3339(v)
    load_crawlers(args.crawlers)
    return {
        "dedup_window": parse_duration(cfg["pipeline.dedup_window"]),
        "session_timeout": parse_duration(cfg["pipeline.session_timeout"]),
        "allowed_lateness": parse_duration(cfg["pipeline.allowed_lateness"]),
        "max_event_bytes": parse_size(cfg["collector.max_event_bytes"]),
        "max_request_bytes": parse_size(cfg["collector.max_request_bytes"]),
        "max_batch_events": int(cfg["collector.max_batch_events"]),
        "now": now,
        "now_map": now_map,
        "reporting": cfg.get("currency.reporting", "USD"),
        "rates": cfg.get("currency.rates") or None,
    }


def compute(inputs, cfg, rows=True):
    """Everything: {"silver": {...}, "gold": {...}}; rows=False leaves out the row-level silver
    tables (events, orders, sessions, …), keeping their figures."""
    st = State(cfg)
    for p in inputs:
        try:
            ingest_file(st, p)
        except NeedNow:
            raise SystemExit("reference: %s has lines without receivedAt: give --now (the time "
                             "the engine ingested them)" % p)
    idmap = build_identity_map(st.events)
    sessions, ev_session = build_sessions(st.events, idmap, cfg["session_timeout"])
    cust = build_customers(st.events, idmap)
    orders, items = build_orders(st.events)
    S = silver(st, sessions, idmap, cust, orders, items, rows)
    refunds = build_refunds(st.events)
    S["refunds"] = len(refunds)
    S["refunded"] = _msum(f["amount"] for f in refunds)
    if rows:
        S["refunds_table"] = {f["message_id"]: {k: v for k, v in f.items() if k != "message_id"}
                              for f in refunds}
    refunds = build_refunds(st.events)
    G = gold(st.events, sessions, ev_session, idmap, cust, orders, items, refunds,
             Rates(cfg["reporting"], cfg["rates"]))
    return {"silver": S, "gold": G}


def add_args(ap):
    ap.add_argument("inputs", nargs="+", help="JSON Lines files, in the order ingested")
    ap.add_argument("--now", help="receive time of lines without receivedAt (RFC 3339)")
    ap.add_argument("--now-map", metavar="FILE",
                    help="receive times of records without receivedAt, by delivery: a JSON object "
                         "{\"SOURCE|AT\": \"RFC 3339 time\"} (SOURCE is file:ABSOLUTE-PATH, AT the "
                         "byte position of the line, .N for the N-th element of a batch)")
    ap.add_argument("--dedup-window")
    ap.add_argument("--session-timeout")
    ap.add_argument("--allowed-lateness")
    ap.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="a configuration key as clickpulse takes it (pipeline.*, collector.max_*)")
    ap.add_argument("--crawlers", metavar="FILE",
                    help="crawler-user-agents.json (default: web/node_modules/crawler-user-agents/ "
                         "of this tree)")


TIME_COLUMNS = {"event_time", "received_at", "start_time", "end_time", "first_seen", "last_seen",
                "signed_up_at", "purchased_at", "first_purchase", "last_purchase"}


def _key_text(k):
    if isinstance(k, tuple):
        return "|".join(fmt_ts(x) if isinstance(x, int) and x > 10**14 else str(x) for x in k)
    return str(k)


def to_jsonable(v, col=None):
    if col in TIME_COLUMNS and isinstance(v, int):
        return fmt_ts(v)
    if isinstance(v, dict):
        return {_key_text(k): to_jsonable(x, k if isinstance(k, str) else None)
                for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_jsonable(x) for x in v]
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_args(ap)
    ap.add_argument("--out", default="-", help="output file (default: standard output)")
    ap.add_argument("--no-rows", action="store_true",
                    help="leave the row-level silver tables (events, sessions, …) out")
    args = ap.parse_args()
    res = compute(args.inputs, make_config(args), rows=not args.no_rows)
    out = sys.stdout if args.out == "-" else open(args.out, "w")
    json.dump(to_jsonable(res), out, indent=1, sort_keys=True, ensure_ascii=False)
    out.write("\n")


if __name__ == "__main__":
    main()
