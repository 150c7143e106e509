// Freshness: the time from the collector's 200 to the event being counted in the
// live stream (Server-Sent Events), at a steady rate of events a second.
// Batches of 100 events are posted on a fixed schedule; each answer's time and the
// running total of acknowledged events are kept; the stream's snapshots carry the
// number of events counted so far, so an acknowledged batch is fresh in the first
// snapshot whose count reaches its running total. Prints one JSON object.
// usage: node bench/freshness.mjs CLICKPULSE_BINARY [RATE] [SECONDS] [STREAM_INTERVAL_MS]
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const [bin, rateArg = '10000', secondsArg = '20', intervalArg = '1000'] = process.argv.slice(2)
const rate = Number(rateArg), seconds = Number(secondsArg), interval = Number(intervalArg)
const batch = 100, warmupMs = 2000
const dir = mkdtempSync(join(tmpdir(), 'cp-fresh-'))
const port = 20000 + Math.floor(Math.random() * 20000), api = port + 1
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const daemon = spawn(bin, ['run', '--set', `data_dir=${dir}`, '--set', `collector.listen=127.0.0.1:${port}`,
  '--set', `dashboard.listen=127.0.0.1:${api}`, '--set', 'collector.write_keys=wk=bench',
  '--set', 'log.fsync=batch', '--set', 'logging.level=error'], { stdio: 'inherit' })
for (let i = 0; i < 100; i++) {
  try { if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break } catch {}
  await sleep(100)
}

// The dashboard's API takes the token the daemon writes into its data directory.
let token = ''
for (let i = 0; i < 100 && !token; i++) {
  try { token = readFileSync(`${dir}/dashboard.token`, 'utf8').trim() } catch { await sleep(100) }
}

// The stream: (receipt time, counted) for every snapshot.
const snaps = []
const ac = new AbortController()
const stream = (async () => {
  const r = await fetch(`http://127.0.0.1:${api}/api/v1/live/stream?interval_ms=${interval}`,
    { signal: ac.signal, headers: { Authorization: `Bearer ${token}` } })
  if (!r.ok) {
    console.error(`freshness: the live stream answered ${r.status}`)
    daemon.kill()
    process.exit(1)
  }
  const dec = new TextDecoder()
  let buf = ''
  for await (const chunk of r.body) {
    buf += dec.decode(chunk, { stream: true })
    let end
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const msg = buf.slice(0, end)
      buf = buf.slice(end + 2)
      const m = /"counted":(\d+)/.exec(msg)
      if (m) snaps.push([performance.now(), Number(m[1])])
    }
  }
})().catch(() => {})

const auth = 'Basic ' + Buffer.from('wk:').toString('base64')
const acks = [] // [ack time, events acknowledged so far]
let acked = 0, seq = 0, failures = 0, inflight = 0
async function post () {
  const now = new Date().toISOString()
  const events = []
  for (let i = 0; i < batch; i++) {
    const n = ++seq
    events.push({ type: n % 10 ? 'page' : 'track', event: 'Product Viewed', anonymousId: `v-${n % 5000}`, messageId: `m-${n}`,
      timestamp: now, properties: { product_id: `p-${n % 300}`, name: `Product ${n % 300}` },
      context: { page: { path: `/p/${n % 300}` }, location: { country: 'DE' } } })
  }
  inflight++
  const r = await fetch(`http://127.0.0.1:${port}/v1/batch`, { method: 'POST', body: JSON.stringify({ batch: events }),
    headers: { 'Content-Type': 'application/json', Authorization: auth } })
  await r.arrayBuffer()
  inflight--
  if (r.status !== 200) { failures++; return }
  acked += batch
  acks.push([performance.now(), acked])
}

const start = performance.now(), period = 1000 * batch / rate
const posts = []
for (let k = 0; performance.now() - start < seconds * 1000; k++) {
  const due = start + k * period
  const wait = due - performance.now()
  if (wait > 0) await sleep(wait)
  posts.push(post())
}
await Promise.all(posts)
await sleep(interval * 2 + 500)
ac.abort()
await stream
daemon.kill('SIGTERM')
await new Promise((resolve) => daemon.once('exit', resolve))
rmSync(dir, { recursive: true, force: true })

const lat = []
let j = 0
for (const [t, total] of acks) {
  if (t - start < warmupMs) continue
  while (j < snaps.length && (snaps[j][1] < total || snaps[j][0] < t)) {
    if (snaps[j][1] >= total) break
    j++
  }
  let k = j
  while (k < snaps.length && snaps[k][1] < total) k++
  if (k < snaps.length) lat.push(Math.max(0, snaps[k][0] - t))
}
lat.sort((a, b) => a - b)
const pct = (p) => lat.length ? Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]) : null
console.log(JSON.stringify({ bench: 'freshness', rate_events_per_s: rate, batch, stream_interval_ms: interval,
  seconds, events_acked: acked, failed_requests: failures, measured_batches: lat.length,
  achieved_events_per_s: Math.round(acked / seconds), p50_ms: pct(0.5), p90_ms: pct(0.9), p99_ms: pct(0.99), max_ms: pct(1) }))
