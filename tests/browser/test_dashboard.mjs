// Every dashboard page in headless Chromium (Debian's) driven by playwright-core,
// on a simulated shop: a page asked for without a login goes to the login page and
// back; each page renders its figures, charts and tables with no console errors (a
// screenshot of each is saved); changing the date range or a filter changes the
// figures to what SQL over the store gives for them, and the URL carries the view;
// the SQL page runs a statement, shows an error, and downloads CSV; logout.
// usage: node test_dashboard.mjs CLICKPULSE_BINARY ARTIFACT_DIR
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePorts, patient, until } from './lib.mjs'

const require = createRequire(new URL('../js/package.json', import.meta.url))
const { chromium } = require('playwright-core')
const [bin, artifacts] = process.argv.slice(2)
const dir = mkdtempSync(join(tmpdir(), 'cp-dashboard-'))
const [port] = await freePorts(2), base = `http://127.0.0.1:${port + 1}`
let pass = 0, fail = 0, daemon = null, browser = null
function check (name, ok, detail = '') {
  if (ok) pass++
  else { fail++; console.log(`FAIL: ${name} ${detail}`) }
}
const pages = ['overview', 'sales', 'acquisition', 'countries', 'funnel', 'sessions', 'content', 'conversion',
  'customers', 'segments', 'pipeline', 'sql', 'live']

// SQL over the store, through the API with the token
async function sql (text) {
  const r = await fetch(`${base}/api/v1/query?format=json&wait_ms=0`, { method: 'POST', body: text, headers: { Authorization: 'Bearer t0k' } })
  if (!r.ok) throw new Error(await r.text())
  return r.json()
}
const kpi = (page, key) => page.getAttribute(`[data-kpi="${key}"]`, 'data-value').then(Number)
async function loaded (page, name, before) {
  await page.waitForFunction(([name, before]) => {
    const v = window.__clickpulseView
    return v && v.page === name && v.loaded > before && (v.data || name === 'sql' || name === 'live')
  }, [name, before])
}
const count = (page) => page.evaluate(() => (window.__clickpulseView || { loaded: 0 }).loaded)

try {
  mkdirSync(artifacts, { recursive: true })
  execFileSync(new URL('../integration/dashboard_shop.sh', import.meta.url).pathname, [bin, `${dir}/data`], { stdio: 'inherit' })
  daemon = spawn(bin, ['run', '--set', `data_dir=${dir}/data`, '--set', `collector.listen=127.0.0.1:${port}`,
    '--set', `dashboard.listen=127.0.0.1:${port + 1}`, '--set', 'dashboard.token=t0k', '--set', 'dashboard.users=ana=s3cret',
    '--set', 'collector.write_keys=wk=web', '--set', 'logging.level=error'], { stdio: ['ignore', 'inherit', 'inherit'] })
  await until(Date.now() + 30000, async () => {
    if (daemon.exitCode !== null) throw new Error(`the daemon exited (${daemon.exitCode})`)
    try { return (await fetch(`${base}/health`)).ok } catch { return false }
  }, 'the daemon answering')
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
  const context = patient(await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true }))
  const page = await context.newPage()
  const errors = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} @ ${m.location().url}`) })
  page.on('pageerror', (e) => errors.push(e.message))

  // --- login ---
  const range = 'from=2026-03-02&to=2026-03-31'
  await page.goto(`${base}/sales?${range}`)
  check('a page without a login shows the login page', new URL(page.url()).pathname === '/login', page.url())
  await page.fill('#user', 'ana')
  await page.fill('#password', 'wrong')
  await page.click('#with-password button')
  await page.waitForFunction(() => document.getElementById('message').textContent !== '')
  check('a wrong password says so', (await page.textContent('#message')).includes('wrong user name or password'))
  const before = await page.evaluate(() => 0)
  await page.fill('#password', 's3cret')
  await page.click('#with-password button')
  await page.waitForURL(/\/sales\?/)
  await loaded(page, 'sales', before)
  check('logged in, back on the page asked for with its range', page.url() === `${base}/sales?${range}`, page.url())
  check('the user is shown', (await page.textContent('#user')) === 'ana')
  const cookie = (await context.cookies()).find((c) => c.name === 'cp_session')
  check('session cookie HttpOnly, Secure, SameSite=Strict', cookie && cookie.httpOnly && cookie.secure && cookie.sameSite === 'Strict')

  // --- every page renders ---
  for (const name of pages) {
    const n = await count(page)
    await page.click(`nav a[data-page="${name}"]`)
    await loaded(page, name, n)
    if (name === 'live') await page.waitForFunction(() => window.__clickpulse && window.__clickpulse.updates > 0)
    const view = await page.evaluate(() => ({ error: window.__clickpulseView.error, url: location.href }))
    check(`${name}: no errors`, view.error === null, JSON.stringify(view.error))
    check(`${name}: the URL keeps the range`, name === 'live' || view.url.includes(range), view.url)
    const shown = await page.evaluate(() => {
      const root = document.querySelector(window.__clickpulseView.page === 'live' ? '#live' : '#view')
      return { canvases: root.querySelectorAll('canvas').length, rows: root.querySelectorAll('tbody tr').length, kpis: root.querySelectorAll('.kpi').length, sql: !!document.getElementById('sql-text') }
    })
    check(`${name}: shows its data`, shown.sql || shown.canvases + shown.rows > 0, JSON.stringify(shown))
    await page.screenshot({ path: join(artifacts, `dashboard-${name}.png`), fullPage: true })
  }

  // --- the figures follow the filters, as the store gives them ---
  const orders = async (from, to, country) => (await sql(`SELECT count(*) AS n, coalesce(sum(revenue), 0) AS r FROM orders
    WHERE event_date BETWEEN DATE '${from}' AND DATE '${to}' ${country ? `AND coalesce(country, 'unknown') = '${country}'` : ''}`))[0]
  let n = await count(page)
  await page.goto(`${base}/sales?${range}`)
  await loaded(page, 'sales', 0)
  let want = await orders('2026-03-02', '2026-03-31')
  check('sales: orders in the range', await kpi(page, 'orders') === want.n, `${await kpi(page, 'orders')} vs ${want.n}`)
  check('sales: revenue in the range', Math.abs(await kpi(page, 'revenue') - want.r) < 0.005)
  const back = (await sql(`SELECT coalesce(sum(amount), 0) AS r FROM refunds
    WHERE event_date BETWEEN DATE '2026-03-02' AND DATE '2026-03-31'`))[0].r
  check('sales: refunds in the range', back > 0 && Math.abs(await kpi(page, 'refunds') - back) < 0.005, `${await kpi(page, 'refunds')} vs ${back}`)
  check('sales: net revenue', Math.abs(await kpi(page, 'net_revenue') - (want.r - back)) < 0.005)
  n = await count(page)
  await page.selectOption('#f-country', 'DE')
  await loaded(page, 'sales', n)
  want = await orders('2026-03-02', '2026-03-31', 'DE')
  check('a country: the URL carries it', page.url().includes('country=DE'), page.url())
  check('a country: orders as the store gives them', await kpi(page, 'orders') === want.n, `${await kpi(page, 'orders')} vs ${want.n}`)
  check('a country: revenue as the store gives it', Math.abs(await kpi(page, 'revenue') - want.r) < 0.005)
  n = await count(page)
  await page.fill('#f-from', '2026-02-01')
  await page.dispatchEvent('#f-from', 'change')
  await loaded(page, 'sales', n)
  want = await orders('2026-02-01', '2026-03-31', 'DE')
  check('a new start date: orders as the store gives them', await kpi(page, 'orders') === want.n && page.url().includes('from=2026-02-01'), `${await kpi(page, 'orders')} vs ${want.n}`)
  const sessions = async (device) => (await sql(`SELECT count(*) AS n FROM sessions WHERE NOT is_bot AND pageviews > 0
    AND start_date BETWEEN DATE '2026-02-01' AND DATE '2026-03-31' AND coalesce(country, 'unknown') = 'DE'
    AND coalesce(device_type, 'unknown') = '${device}'`))[0].n
  n = await count(page)
  await page.click('nav a[data-page="sessions"]')
  await loaded(page, 'sessions', n)
  n = await count(page)
  await page.selectOption('#f-device', 'mobile')
  await loaded(page, 'sessions', n)
  check('a device on another page: sessions as the store gives them', await kpi(page, 'sessions') === await sessions('mobile'))
  const shared = page.url()
  const other = await context.newPage()
  await other.goto(shared)
  await loaded(other, 'sessions', 0)
  check('a shared link shows the same view', await kpi(other, 'sessions') === await kpi(page, 'sessions') &&
    await other.inputValue('#f-device') === 'mobile' && await other.inputValue('#f-country') === 'DE' && await other.inputValue('#f-from') === '2026-02-01')
  await other.close()
  n = await count(page)
  await page.goBack()
  await loaded(page, 'sessions', n)
  check('back goes to the previous view', !page.url().includes('device=mobile'), page.url())

  // --- SQL ---
  n = await count(page)
  await page.click('nav a[data-page="sql"]')
  await loaded(page, 'sql', n)
  await page.fill('#sql-text', "SELECT country, count(*) AS orders FROM orders GROUP BY 1 ORDER BY 2 DESC, 1")
  n = await count(page)
  await page.click('#sql-run')
  await page.waitForFunction((n) => window.__clickpulseView.loaded > n, n)
  const result = await page.evaluate(() => window.__clickpulseView.data.result)
  const direct = await sql('SELECT country, count(*) AS orders FROM orders GROUP BY 1 ORDER BY 2 DESC, 1')
  check('SQL: the result is the store\'s', JSON.stringify(result) === JSON.stringify(direct))
  check('SQL: shown as a table', await page.locator('[data-table="result"] tbody tr').count() === direct.length)
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#sql-csv')])
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\n')
  check('SQL: CSV download', csv[0] === 'country,orders' && csv.length === direct.length + 1 && csv[1] === `${direct[0].country},${direct[0].orders}`, csv.slice(0, 2).join('|'))
  await page.fill('#sql-text', 'DELETE FROM orders')
  n = await count(page)
  await page.click('#sql-run')
  await page.waitForFunction((n) => window.__clickpulseView.loaded > n, n)
  check('SQL: writes refused, with the reason', (await page.textContent('#sql-error')).includes('only read-only statements'))
  // the answers the test asked for: the wrong password's 401 and the refused statement's 400
  const expected = [`status of 401 (Unauthorized) @ ${base}/api/v1/login`, `status of 400 (Bad Request) @ ${base}/api/v1/query?format=json&max_rows=10000&wait_ms=0`]
  const unexpected = errors.filter((e) => !expected.some((x) => e.endsWith(x)))
  check('no console errors', unexpected.length === 0 && errors.length === 2, JSON.stringify(errors))

  // --- logout ---
  await page.click('#logout')
  await page.waitForURL(/\/login/)
  await page.goto(`${base}/overview`)
  check('after logout the pages want a login again', new URL(page.url()).pathname === '/login', page.url())
} catch (e) {
  fail++
  console.log('FAIL:', e.stack || e)
} finally {
  if (browser) await browser.close()
  if (daemon) {
    const exited = new Promise((resolve) => daemon.once('exit', resolve))
    daemon.kill('SIGTERM')
    await exited
  }
  rmSync(dir, { recursive: true, force: true })
}
console.log(`${pass} passed, ${fail} failed`)
process.exit(fail ? 1 : 0)
