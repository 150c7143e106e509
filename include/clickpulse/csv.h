/* CSV tables as events: the customers, purchases and clickstream tables retail
 * teams already keep (the simulator writes them) are mapped onto Segment events
 * and decoded by the event decoder, so they flow through the same pipeline.
 *
 *   customers   customer_id,name,email,country,signup_date            → identify
 *   purchases   order_id,customer_id,product_id,quantity,price,
 *               total_amount,purchase_date (a row per order line)     → Order Completed
 *   clickstream user_id,session_id,page_url,event_type,product_id,
 *               timestamp                                            → page / track
 *
 * The table is recognised by its header (columns in any order, extra columns
 * ignored). RFC 4180 quoting. Input comes in pieces, like the JSON decoder. */
#ifndef CLICKPULSE_CSV_H
#define CLICKPULSE_CSV_H

#include "clickpulse/event.h"

typedef struct cp_csv_decoder cp_csv_decoder;

cp_csv_decoder *cp_csv_decoder_new(const cp_decode_options *opts, cp_decode_sink sink);
void cp_csv_decoder_free(cp_csv_decoder *d);
/* Feeds bytes; the first record is the header. Events and rejects go to the sink,
 * with their record's byte position and line number. A header that matches no table
 * is rejected once (CP_REJECT_MISSING_FIELD) and the rest of the input with it. */
int cp_csv_decoder_feed(cp_csv_decoder *d, const char *buf, size_t len);
int cp_csv_decoder_finish(cp_csv_decoder *d);
/* "customers", "purchases", "clickstream", or NULL before the header. */
const char *cp_csv_decoder_table(const cp_csv_decoder *d);
/* As for the JSON decoder: resume points that hold back a partial record and an
 * order whose lines are still being gathered. */
void cp_csv_decoder_set_position(cp_csv_decoder *d, uint64_t pos, uint64_t line);
uint64_t cp_csv_decoder_resume_position(const cp_csv_decoder *d, uint64_t *line);

#endif
