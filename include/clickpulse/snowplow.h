/* The Snowplow tracker protocol onto Segment events: one event's parameters (the
 * GET /i query string, or one object of a tp2 POST's "data" array) become the
 * Segment JSON of the same event, which the event decoder then reads.
 *
 *   e=pv page view → page; e=pp page ping → track "Page Ping";
 *   e=se structured → track named se_ac (category, label, property, value);
 *   e=ue self-describing → track named after the schema, its data as properties;
 *   e=tr transaction → track "Order Completed"; e=ti item → track "Order Item".
 *   eid → messageId, uid → userId, duid (else nuid) → anonymousId, sid → sessionId,
 *   dtm → originalTimestamp, stm → sentAt, ttm → timestamp, url/refr/page → page,
 *   ua, lang, tz → context; aid → properties.app_id. */
#ifndef CLICKPULSE_SNOWPLOW_H
#define CLICKPULSE_SNOWPLOW_H

#include "clickpulse/arena.h"
#include "clickpulse/str.h"

typedef struct cp_kv {
    cp_slice key, value;
} cp_kv;

/* Appends the Segment JSON of one Snowplow event to out. Returns 0, or CP_EINVAL with
 * a message in err (no "e", an unknown event type, a bad number or timestamp). */
int cp_snowplow_event(const cp_kv *params, size_t n, cp_buf *out, char *err, size_t errlen);

/* A tp2 POST body ({"schema":…,"data":[{"e":"pv",…},…]}) as one Segment batch
 * envelope ({"batch":[…]}) appended to out; *app_id gets the first event's "aid"
 * (slice into arena). Returns 0 or CP_EINVAL with a message. */
int cp_snowplow_payload(cp_slice body, cp_buf *out, cp_arena *arena, cp_slice *app_id, char *err,
                        size_t errlen);

#endif
