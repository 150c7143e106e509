// The Live page in headless Chromium (Debian's) driven by playwright-core: the
// daemon gets a small shop's events through the collector, the page shows them in
// its figures, charts and tables; more events show within 2 seconds; when the
// daemon goes away the page says so, and when it is back (the per-minute rollups
// restored) the page is live again with the same figures. No console errors. The shop
// reports in EUR, the currency of its orders (an order without one is in EUR too).
// usage: node test_live.mjs CLICKPULSE_BINARY ARTIFACT_DIR
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePorts, patient, until } from './lib.mjs'

const require = createRequire(new URL('../js/package.json', import.meta.url))
const { chromium } = require('playwright-core')
const [bin, artifacts] = process.argv.slice(2)
const dir = mkdtempSync(join(tmpdir(), 'cp-browser-'))
const [port] = await freePorts(2), api = port + 1
const collector = `http://127.0.0.1:${port}`, dashboard = `http://127.0.0.1:${api}`
let pass = 0, fail = 0, daemon = null, browser = null

function check (name, ok, detail = '') {
  if (ok) pass++
  else { fail++; console.log(`FAIL: ${name} ${detail}`) }
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function start () {
  daemon = spawn(bin, ['run', '--set', `data_dir=${dir}/data`, '--set', `collector.listen=127.0.0.1:${port}`,
    '--set', `dashboard.listen=127.0.0.1:${api}`, '--set', 'collector.write_keys=wk=web',
    '--set', 'dashboard.token=live-token', '--set', 'logging.level=error',
    '--set', 'currency.reporting=EUR'], { stdio: ['ignore', 'inherit', 'inherit'] })
  const d = daemon
  await until(Date.now() + 30000, async () => {
    if (d.exitCode !== null) throw new Error(`the daemon exited (${d.exitCode})`)
    try { return (await fetch(`${collector}/health`)).ok } catch { return false }
  }, 'the daemon answering')
}
async function stop () {
  const exited = new Promise((resolve) => daemon.once('exit', resolve))
  daemon.kill('SIGTERM')
  await exited
  daemon = null
}

let seq = 0
const now = () => new Date().toISOString()
const ev = (type, who, extra = {}) => Object.assign({ type, anonymousId: who, messageId: `b-${++seq}`, timestamp: now(),
  context: { location: { country: extra.country || 'DE' }, page: { path: extra.path || '/', referrer: extra.referrer || '' } } }, extra.body || {})
const track = (who, event, properties, country) => ev('track', who, { country, body: { event, properties } })
const lamp = { product_id: 'p-1', name: 'Lamp', price: 29.95 }
async function send (batch) {
  const r = await fetch(`${collector}/v1/batch`, { method: 'POST', body: JSON.stringify({ batch }),
    headers: { 'Content-Type': 'application/json', Authorization: 'Basic ' + Buffer.from('wk:').toString('base64') } })
  if (r.status !== 200) throw new Error(`collector answered ${r.status}: ${await r.text()}`)
}

async function text (page, id) { return (await page.textContent('#' + id)).trim() }
async function waitText (page, id, want, ms) {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    if (await text(page, id) === want) return Date.now() - t0
    await sleep(25)
  }
  return -1
}
const series = (page, id, i = 0) => page.evaluate(([id, i]) =>
  echarts.getInstanceByDom(document.getElementById(id)).getOption().series[i].data, [id, i])

try {
  await start()
  await send([
    ev('page', 'v1', { referrer: 'https://www.google.com/search?q=lamp' }),
    track('v1', 'Product Viewed', lamp),
    track('v1', 'Product Added', lamp),
    track('v1', 'Checkout Started', { revenue: 59.9 }),
    track('v1', 'Order Completed', { order_id: 'o-1', revenue: 59.9, currency: 'EUR', products: [{ ...lamp, quantity: 2 }] }),
    ev('page', 'v2', { path: '/p/lamp', country: 'FR' }),
    track('v2', 'Product Viewed', lamp, 'FR'),
    ev('page', 'v3', { country: 'FR' }),
  ])

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
  const page = patient(await browser.newPage({ viewport: { width: 1400, height: 1100 } }))
  const errors = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(dashboard + '/login?token=live-token&next=/live')
  // silver's writer hands the events to the live view after the collector's answer: until
  // a snapshot has counted all eight (render draws each snapshot whole)
  await page.waitForFunction(() => window.__clickpulse && window.__clickpulse.updates > 0 && window.__clickpulse.last.counted >= 8)

  check('status live', await text(page, 'status') === 'live')
  check('page views', await text(page, 'k-pageviews') === '3', await text(page, 'k-pageviews'))
  check('orders', await text(page, 'k-orders') === '1')
  check('revenue', await text(page, 'k-revenue') === '59.90')
  check('average order value', await text(page, 'k-aov') === '59.90')
  check('active users', await text(page, 'k-active') === '3')
  check('conversion', await text(page, 'k-conversion') === '33.33 %', await text(page, 'k-conversion'))
  const pv = await series(page, 'c-minute')
  check('page views per minute chart', pv.length === 60 && pv.reduce((a, b) => a + b, 0) === 3, JSON.stringify(pv))
  const eps = await series(page, 'c-eps')
  check('events per second chart', eps.length === 900 && eps.reduce((a, b) => a + b, 0) === 8)
  const funnel = (await series(page, 'c-funnel')).map((d) => d.value)
  check('funnel chart', JSON.stringify(funnel) === '[3,2,1,1,1]', JSON.stringify(funnel))
  const countries = await series(page, 'c-countries')
  check('countries chart', JSON.stringify(countries) === '[5,3]', JSON.stringify(countries))
  const revenue = await series(page, 'c-revenue')
  check('revenue chart', Math.abs(revenue.reduce((a, b) => a + b, 0) - 59.9) < 1e-9)
  const pages = await page.$$eval('#t-pages tbody tr', (rows) => rows.map((r) => r.innerText.replace(/\s+/g, ' ')))
  check('top pages', JSON.stringify(pages) === '["/ 2","/p/lamp 1"]', JSON.stringify(pages))
  const products = await page.$$eval('#t-products tbody tr', (rows) => rows.map((r) => r.innerText.replace(/\s+/g, ' ')))
  check('top products', JSON.stringify(products) === '["Lamp 2 2 59.90"]', JSON.stringify(products))
  const refs = await page.$$eval('#t-referrers tbody tr', (rows) => rows.map((r) => r.innerText.replace(/\s+/g, ' ')))
  check('top referrers', JSON.stringify(refs) === '["www.google.com 1"]', JSON.stringify(refs))

  // More events: the page shows them within 2 seconds.
  await send([ev('page', 'v4'), track('v4', 'Order Completed', { order_id: 'o-2', revenue: 10, products: [{ product_id: 'p-2', name: 'Mug', price: 5, quantity: 2 }] }),
    track('v4', 'Order Completed', { order_id: 'o-3', revenue: 30.1 })])
  const took = await waitText(page, 'k-orders', '3', 2000)
  check('new orders within 2 s', took >= 0, `(${took} ms)`)
  check('revenue updated', await waitText(page, 'k-revenue', '100.00', 1000) >= 0, await text(page, 'k-revenue'))
  check('page views updated', await text(page, 'k-pageviews') === '4')
  check('no console errors', errors.length === 0, JSON.stringify(errors))
  mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: join(artifacts, 'live.png'), fullPage: true })

  // The daemon goes away: the page says so; it comes back with the rollups restored.
  await stop()
  await page.waitForFunction(() => /connection lost|no update/.test(document.getElementById('status').textContent), null, { timeout: 8000 })
  check('drop shown', /connection lost|no update/.test(await text(page, 'status')))
  check('drop greys the page', await page.evaluate(() => document.getElementById('live').classList.contains('stale')))
  await start()
  await page.waitForFunction(() => document.getElementById('status').textContent === 'live')
  check('live again', !(await page.evaluate(() => document.getElementById('live').classList.contains('stale'))))
  check('figures restored after restart', await waitText(page, 'k-orders', '3', 3000) >= 0 &&
    await text(page, 'k-pageviews') === '4' && await text(page, 'k-revenue') === '100.00', await text(page, 'k-orders'))
  const pagesAfter = await page.$$eval('#t-pages tbody tr', (rows) => rows.length)
  check('tables restored after restart', pagesAfter === 2)
  await page.screenshot({ path: join(artifacts, 'live-after-restart.png'), fullPage: true })
} catch (e) {
  fail++
  console.log('FAIL: ' + (e.stack || e))
} finally {
  if (browser) await browser.close()
  if (daemon) await stop()
  rmSync(dir, { recursive: true, force: true })
}
console.log(`${pass} passed, ${fail} failed`)
process.exit(fail ? 1 : 0)
