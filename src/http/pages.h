/* Private to src/http: the dashboard's pages as named datasets of SQL (pages.c). */
#ifndef CP_HTTP_PAGES_H
#define CP_HTTP_PAGES_H

#include "clickpulse/store.h"
#include "clickpulse/str.h"

/* from (YYYY-MM-DD), to, country, device, source; NULL for no filter */
#define HTTP_PAGE_PARAMS 5

/* The TEMP macros the datasets read, run once on each reader connection. */
extern const char http_pages_init_sql[];
int http_page_exists(const char *page);
/* Appends {"page","params","datasets":{name:[rows]},"errors":{name:reason}} for page,
 * each dataset run on r within timeout_ms. CP_ENOENT: no such page. */
int http_page_json(cp_store_reader *r, const char *page, const char *const params[HTTP_PAGE_PARAMS],
                   int timeout_ms, cp_buf *out);

#endif
