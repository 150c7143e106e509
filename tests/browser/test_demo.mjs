// make demo, as a newcomer sees it: scripts/demo runs on its own data directory and
// ports (DEMO_DATA, DEMO_COLLECTOR, DEMO_DASHBOARD); within 60 s of its start every
// dashboard page shows data in headless Chromium — no page with an empty chart or
// table, none saying "no data" or "no segmentation snapshot", the Segments page with
// several snapshots and the movement between them, the Live page following the shop
// as it happens. Stopped with Ctrl-C and started again, the demo continues on the same
// data: no second backfill, every event once, what was there before unchanged.
// usage: node test_demo.mjs CLICKPULSE_BINARY ARTIFACT_DIR
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePorts, patient, until } from './lib.mjs'

const require = createRequire(new URL('../js/package.json', import.meta.url))
const { chromium } = require('playwright-core')
const [bin, artifacts] = process.argv.slice(2)
const script = new URL('../../scripts/demo', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'cp-demo-'))
const data = join(dir, 'data')
const [collector, dashboard] = await freePorts(2)
const base = `http://127.0.0.1:${dashboard}`
const BUDGET_MS = 60000
let pass = 0, fail = 0, demo = null, browser = null
function check (name, ok, detail = '') {
  if (ok) pass++
  else { fail++; console.log(`FAIL: ${name} ${detail}`) }
}
const pages = ['overview', 'sales', 'acquisition', 'countries', 'funnel', 'sessions', 'content', 'conversion',
  'customers', 'segments', 'pipeline', 'sql', 'live']

// The demo in a process group of its own, as a terminal runs it; its output is kept.
function start () {
  const p = spawn('bash', [script, bin], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: Object.assign({}, process.env, { DEMO_DATA: data, DEMO_COLLECTOR: `127.0.0.1:${collector}`, DEMO_DASHBOARD: `127.0.0.1:${dashboard}` }),
  })
  p.out = ''
  p.stdout.on('data', (b) => { p.out += b })
  p.stderr.on('data', (b) => { p.out += b })
  p.exited = new Promise((resolve) => p.once('exit', (code, signal) => resolve(code ?? signal)))
  return p
}
// Ctrl-C: SIGINT to the whole group; the demo stops the daemon and the simulator.
async function stop (p) {
  try { process.kill(-p.pid, 'SIGINT') } catch {}
  return p.exited
}
async function up (p, deadline) {
  return until(deadline, async () => {
    if (p.exitCode !== null) throw new Error(`the demo exited (${p.exitCode}):\n${p.out}`)
    try { return (await fetch(`${base}/health`)).ok && existsSync(`${data}/dashboard.token`) } catch { return false }
  })
}
async function sql (text, token) {
  const r = await fetch(`${base}/api/v1/query?format=json&wait_ms=60000`, { method: 'POST', body: text, headers: { Authorization: `Bearer ${token}` } })
  if (!r.ok) throw new Error(await r.text())
  return r.json()
}

// What a page shows: nothing loading, no "no data" message, and for each chart and table
// something in it. The Live page: updates arriving, and events in its last hour or today.
async function shown (page, name) {
  return page.evaluate((name) => {
    if (name === 'live') {
      const s = window.__clickpulse && window.__clickpulse.last
      if (!s || !window.__clickpulse.updates) return { ok: false, why: 'no live update yet' }
      const hour = s.per_minute.events.reduce((a, b) => a + b, 0)
      return { ok: hour + s.today.events > 0 && document.getElementById('status').textContent === 'live', why: `last hour ${hour}, today ${s.today.events}` }
    }
    const v = window.__clickpulseView
    if (!v || v.page !== name || !v.loaded) return { ok: false, why: 'not loaded' }
    if (v.error) return { ok: false, why: JSON.stringify(v.error) }
    const root = document.getElementById('view')
    if (name === 'sql') return { ok: !!document.getElementById('sql-text'), why: 'no SQL editor' }
    const empty = [...root.querySelectorAll('.empty')].map((e) => e.textContent)
    if (empty.length) return { ok: false, why: empty.join(' | ') }
    const tables = [...root.querySelectorAll('table')].filter((t) => !t.querySelector('tbody tr')).length
    const charts = [...root.querySelectorAll('.chart')]
    const blank = charts.filter((c) => {
      const o = window.echarts.getInstanceByDom(c)?.getOption()
      return !o || !o.series.some((s) => (s.data || s.links || []).some((d) => (d && typeof d === 'object' ? d.value ?? d : d)))
    }).length
    return { ok: tables === 0 && blank === 0 && charts.length > 0, why: `${charts.length} charts (${blank} blank), ${tables} empty tables` }
  }, name)
}

try {
  mkdirSync(artifacts, { recursive: true })
  // ---- first run: backfill, models, segments, churn, then live ----
  const t0 = Date.now()
  demo = start()
  await up(demo, t0 + BUDGET_MS)
  console.log(`the demo answered ${((Date.now() - t0) / 1000).toFixed(1)} s after its start`)
  const token = readFileSync(`${data}/dashboard.token`, 'utf8').trim()
  check('the demo says it backfilled a year', /backfilling a year of a shop/.test(demo.out), demo.out)
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
  const context = patient(await browser.newContext({ viewport: { width: 1400, height: 1000 } }))
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(`${base}/login?token=${token}&next=/overview`)
  const seen = {}
  for (const name of pages) {
    let last = null
    const ok = await until(t0 + BUDGET_MS, async () => {
      await page.goto(`${base}/${name}`)
      last = await until(Date.now() + 5000, async () => { const s = await shown(page, name); return s.ok ? s : (last = s, false) }).catch(() => last)
      return last && last.ok
    }).then(() => true, () => false)
    seen[name] = Date.now() - t0
    console.log(`${name}: ${(seen[name] / 1000).toFixed(1)} s`)
    check(`${name}: data within ${BUDGET_MS / 1000} s of the start`, ok, JSON.stringify(last))
    await page.screenshot({ path: join(artifacts, `demo-${name}.png`), fullPage: true })
  }
  console.log(`every page had data ${(Math.max(...Object.values(seen)) / 1000).toFixed(1)} s after the demo started`)
  const snapshots = await sql(`SELECT (SELECT count(DISTINCT snapshot) FROM customer_segments) AS n,
    (SELECT count(DISTINCT (from_snapshot, to_snapshot)) FROM cluster_transitions WHERE from_snapshot IS NOT NULL) AS moves`, token)
  check('segments: seven snapshots, movement between each and the one before', snapshots[0].n === 7 && snapshots[0].moves === 6, JSON.stringify(snapshots))
  check('no page errors', errors.length === 0, JSON.stringify(errors))

  // ---- Ctrl-C, and again on the same data ----
  const before = (await sql(`SELECT count(*) AS n, max(received_at) AS last FROM events`, token))[0]
  const code = await stop(demo)
  demo = null
  check('Ctrl-C stops the demo', code === 130 || code === 'SIGINT', String(code))
  const again = start()
  demo = again
  await up(again, Date.now() + BUDGET_MS)
  check('the second run continues: no second backfill', /continuing on/.test(again.out) && !/backfilling/.test(again.out), again.out)
  const after = (await sql(`SELECT count(*) AS n, count(DISTINCT message_id) AS ids,
    count(*) FILTER (WHERE received_at <= TIMESTAMP '${before.last}') AS old FROM events`, token))[0]
  check('every event once', after.n === after.ids, JSON.stringify(after))
  check('the history as it was', after.old === before.n, `${after.old} vs ${before.n}`)
} catch (e) {
  fail++
  console.log('FAIL:', e.stack || e)
  if (demo) console.log(demo.out)
} finally {
  if (browser) await browser.close()
  if (demo) await stop(demo)
  rmSync(dir, { recursive: true, force: true })
}
console.log(`${pass} passed, ${fail} failed`)
process.exit(fail ? 1 : 0)
