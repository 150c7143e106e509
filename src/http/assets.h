/* The dashboard's web assets, embedded at build time (cmake/embed.c): each with
 * its URL path, content type, and a gzip copy served to clients that accept it. */
#ifndef CP_HTTP_ASSETS_H
#define CP_HTTP_ASSETS_H

#include <stddef.h>

typedef struct http_asset {
    const char *path, *type;
    const unsigned char *data;
    size_t len;
    const unsigned char *gz;
    size_t gz_len;
} http_asset;

/* Ends with an entry whose path is NULL. */
extern const http_asset http_assets[];

#endif
