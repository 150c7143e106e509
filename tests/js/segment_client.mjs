// Drives @segment/analytics-node (the real npm client) against the collector,
// through a small proxy that forwards the first batch and still answers it with
// a 500, so the client retries it: the collector must keep each event once.
// usage: node segment_client.mjs COLLECTOR_PORT WRITE_KEY
import { Analytics } from '@segment/analytics-node'
import http from 'node:http'

const [port, writeKey] = process.argv.slice(2)
let requests = 0
let failed = 0

const proxy = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const n = ++requests
    const body = Buffer.concat(chunks)
    const up = http.request({ host: '127.0.0.1', port, path: req.url, method: req.method,
                              headers: req.headers }, (ur) => {
      const out = []
      ur.on('data', (c) => out.push(c))
      ur.on('end', () => {
        if (n === 1) { failed++; res.writeHead(500); res.end('forced failure'); return }
        res.writeHead(ur.statusCode, ur.headers)
        res.end(Buffer.concat(out))
      })
    })
    up.end(body)
  })
})
await new Promise((r) => proxy.listen(0, '127.0.0.1', r))

const analytics = new Analytics({ writeKey, host: `http://127.0.0.1:${proxy.address().port}`,
                                  flushAt: 20, flushInterval: 100, maxRetries: 3 })
let errors = 0
analytics.on('error', () => errors++)
for (let i = 0; i < 50; i++) {
  analytics.track({ userId: `u${i % 5}`, event: 'Product Viewed',
                    properties: { product_id: `p${i}`, price: 1.5 } })
}
analytics.page({ anonymousId: 'a-1', name: 'Home', properties: { url: 'https://shop.example/', path: '/' } })
analytics.identify({ userId: 'u1', traits: { email: 'u1@example.com', name: 'U One' } })
analytics.track({ userId: 'u1', event: 'Order Completed',
                  properties: { order_id: 'o-1', revenue: 25.5, currency: 'USD',
                                products: [{ product_id: 'p1', price: 12.75, quantity: 2 }] } })
await analytics.closeAndFlush({ timeout: 20000 })
proxy.close()
console.log(JSON.stringify({ sent: 53, requests, forced_failures: failed, client_errors: errors }))
