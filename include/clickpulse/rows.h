/* Table rows as events: the customer profiles and purchases a shop's database
 * already publishes (as JSON rows, or as Debezium change events of them) are
 * mapped onto Segment events, which then go through the event decoder like any
 * other input.
 *
 *   customer  customer_id (or id), name, email, country, signup_date   → identify
 *   purchase  order_id, customer_id, purchase_date, total_amount, currency and
 *             its lines: lines / items / products [{product_id, quantity, price,
 *             name, category}], or one line flat (product_id, quantity, price)
 *                                                                      → Order Completed
 *
 * A Debezium envelope ({"payload":{"after":{…},"op":…}} or {"after":{…}}) is
 * unwrapped; a delete (no "after") maps to nothing. Ids may be strings or numbers;
 * amounts numbers or numeric strings. */
#ifndef CLICKPULSE_ROWS_H
#define CLICKPULSE_ROWS_H

#include "clickpulse/str.h"

#include <stddef.h>

typedef enum cp_row_kind { CP_ROW_CUSTOMER, CP_ROW_PURCHASE } cp_row_kind;

/* Appends the Segment event of one row to out. A profile's messageId is update_id (a
 * profile changes: each change is an event of its own); an order's is "order:<order_id>"
 * (the same order published again is a duplicate). Returns 0, CP_ENOENT for a delete,
 * or CP_EINVAL with a message in err. */
int cp_row_to_event(cp_row_kind kind, cp_slice json, cp_slice update_id, cp_buf *out, char *err,
                    size_t errlen);

#endif
