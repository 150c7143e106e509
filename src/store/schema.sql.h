/* The silver and operations schema, created when missing. Kept as one string so
 * the binary carries it; docs/pipeline.md describes the silver tables, docs/live.md the rt_ ones,
 * docs/jobs.md job_runs. */
#ifndef CP_STORE_SCHEMA_H
#define CP_STORE_SCHEMA_H

static const char cp_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS events ("
    " \"offset\" BIGINT NOT NULL, msg_hash UBIGINT, delivery_hash UBIGINT,"
    " message_id VARCHAR, type VARCHAR, kind VARCHAR, event_name VARCHAR,"
    " user_id VARCHAR, anonymous_id VARCHAR, identity VARCHAR, session_id VARCHAR,"
    " event_time TIMESTAMP, received_at TIMESTAMP, event_date DATE, source VARCHAR,"
    " page_url VARCHAR, page_path VARCHAR, page_referrer VARCHAR,"
    " utm_source VARCHAR, utm_medium VARCHAR, utm_campaign VARCHAR, utm_term VARCHAR,"
    " utm_content VARCHAR, country VARCHAR, locale VARCHAR, ip VARCHAR,"
    " device_type VARCHAR, browser VARCHAR, os VARCHAR, is_bot BOOLEAN, late BOOLEAN,"
    " email VARCHAR, email_domain VARCHAR, name VARCHAR,"
    " order_id VARCHAR, revenue DECIMAL(18,2), currency VARCHAR,"
    " properties VARCHAR);"
    "CREATE TABLE IF NOT EXISTS orders ("
    " \"offset\" BIGINT NOT NULL, order_id VARCHAR, message_id VARCHAR, user_id VARCHAR,"
    " anonymous_id VARCHAR, event_time TIMESTAMP, event_date DATE, revenue DECIMAL(18,2),"
    " total DECIMAL(18,2), currency VARCHAR, country VARCHAR, items INTEGER, units BIGINT);"
    "CREATE TABLE IF NOT EXISTS order_items ("
    " \"offset\" BIGINT NOT NULL, order_id VARCHAR, line INTEGER, product_id VARCHAR, sku VARCHAR,"
    " name VARCHAR, category VARCHAR, price DECIMAL(18,2), quantity BIGINT);"
    "CREATE TABLE IF NOT EXISTS identity_map ("
    " anonymous_id VARCHAR, user_id VARCHAR NOT NULL, first_seen TIMESTAMP);"
    "CREATE TABLE IF NOT EXISTS customers ("
    " user_id VARCHAR, email VARCHAR, email_domain VARCHAR, name VARCHAR,"
    " country VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP, signed_up_at TIMESTAMP,"
    " events BIGINT);"
    "CREATE TABLE IF NOT EXISTS sessions ("
    " session_id VARCHAR, identity VARCHAR, user_id VARCHAR, start_time TIMESTAMP,"
    " end_time TIMESTAMP, start_date DATE, duration_s DOUBLE, events BIGINT, pageviews BIGINT,"
    " is_bot BOOLEAN, product_view BOOLEAN, cart BOOLEAN, checkout BOOLEAN, purchase BOOLEAN,"
    " landing_path VARCHAR, utm_source VARCHAR, utm_medium VARCHAR, utm_campaign VARCHAR,"
    " country VARCHAR, device_type VARCHAR);"
    "CREATE TABLE IF NOT EXISTS dead_letters ("
    " received_at TIMESTAMP, source VARCHAR, delivery VARCHAR, reason VARCHAR, detail VARCHAR,"
    " raw BLOB, line BIGINT);"
    "CREATE TABLE IF NOT EXISTS duplicates ("
    " message_id VARCHAR, received_at TIMESTAMP, source VARCHAR, delivery VARCHAR);"
    "CREATE TABLE IF NOT EXISTS rt_minute ("
    " minute TIMESTAMP, events BIGINT, pageviews BIGINT, visitors BIGINT, sessions BIGINT,"
    " converted BIGINT, orders BIGINT, revenue DOUBLE, bots BIGINT, funnel_page BIGINT,"
    " funnel_product BIGINT, funnel_cart BIGINT, funnel_checkout BIGINT, funnel_order BIGINT,"
    " visitors_hll BLOB, updated_at TIMESTAMP);"
    "CREATE TABLE IF NOT EXISTS rt_minute_top ("
    " minute TIMESTAMP, dim VARCHAR, key VARCHAR, n BIGINT, orders BIGINT, revenue DOUBLE);"
    "CREATE TABLE IF NOT EXISTS checkpoints ("
    " name VARCHAR PRIMARY KEY, position BIGINT NOT NULL, updated_at TIMESTAMP);";

#endif
