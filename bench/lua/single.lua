-- One track event per request (no messageId: the collector makes one per delivery).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic YmVuY2g6" -- "bench:"
wrk.body = '{"event":"Product Viewed","userId":"u-1","properties":{"product_id":"p1","price":19.99},"context":{"page":{"path":"/product/p1"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"}}'
