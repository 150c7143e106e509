// Cross-site requests and login redirects in headless Chromium: a page of another
// origin (another port of the same host, which the SameSite=Strict cookie does not
// stop) auto-submits a form to /api/v1/forget and fetches POST /api/v1/jobs/NAME/run
// with the logged-in user's cookie: both refused (403), nothing erased, no job run;
// the dashboard's own pages still change things with the session's CSRF token. Login
// links and the login form with next=/%09/HOST or next=/%5CHOST stay on the dashboard.
// usage: node test_csrf.mjs CLICKPULSE_BINARY ARTIFACT_DIR
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WAIT, freePorts, patient } from './lib.mjs'

const require = createRequire(new URL('../js/package.json', import.meta.url))
const { chromium } = require('playwright-core')
const [bin, artifacts] = process.argv.slice(2)
const dir = mkdtempSync(join(tmpdir(), 'cp-csrf-'))
const [port] = await freePorts(3), base = `http://127.0.0.1:${port + 1}`
const evilHost = `127.0.0.1:${port + 2}`, evil = `http://${evilHost}`
let pass = 0, fail = 0, daemon = null, browser = null, server = null
function check (name, ok, detail = '') {
  if (ok) pass++
  else { fail++; console.log(`FAIL: ${name} ${detail}`) }
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
// until fn() is true, or fail after ms
async function until (what, fn, ms = WAIT) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    try { if (await fn()) return true } catch {}
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}
const token = { Authorization: 'Bearer t0k' }
async function sql (text) {
  const r = await fetch(`${base}/api/v1/query?format=json&wait_ms=60000`, { method: 'POST', body: text, headers: token })
  if (!r.ok) throw new Error(await r.text())
  return r.json()
}
const victimEvents = async () => (await sql("SELECT count(*) AS n FROM events WHERE user_id = 'victim'"))[0].n
let job = null // the job the other origin tries to start
const jobRuns = async () => (await sql(`SELECT count(*) AS n FROM job_runs WHERE job = '${job}'`))[0].n

// the other origin's pages
const landed = []
function evilPages (job) {
  return createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html')
    if (req.url === '/form') {
      res.end(`<form id=f method=POST action="${base}/api/v1/forget"><input name=user_id value=victim></form>
        <script>document.getElementById('f').submit()</script>`)
    } else if (req.url === '/fetch') {
      res.end(`<script>
        window.done = Promise.all([
          fetch('${base}/api/v1/jobs/${job}/run', { method: 'POST', credentials: 'include', mode: 'no-cors' }),
          fetch('${base}/api/v1/forget', { method: 'POST', credentials: 'include', mode: 'no-cors',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'user_id=victim' })
        ]).then(() => 'sent', (e) => String(e))
      </script>`)
    } else {
      if (req.url.startsWith('/landed')) landed.push(req.url)
      res.end('<h1>not the dashboard</h1>')
    }
  })
}

try {
  mkdirSync(artifacts, { recursive: true })
  daemon = spawn(bin, ['run', '--set', `data_dir=${dir}/data`, '--set', `collector.listen=127.0.0.1:${port}`,
    '--set', `dashboard.listen=127.0.0.1:${port + 1}`, '--set', 'dashboard.token=t0k', '--set', 'dashboard.users=ana=s3cret',
    '--set', 'collector.write_keys=wk=web', '--set', 'logging.level=error',
    // no job runs unless asked: a scheduled run would move the count this test watches
    ...['sessions', 'models', 'tests', 'retention', 'segments', 'churn'].flatMap((j) => ['--set', `jobs.${j}.schedule=0 0 1 1 *`])],
  { stdio: ['ignore', 'inherit', 'inherit'] })
  await until('the daemon', async () => (await fetch(`${base}/health`)).ok)
  const sent = await fetch(`http://127.0.0.1:${port}/v1/track`, { method: 'POST', headers: { Authorization: 'Basic ' + Buffer.from('wk:').toString('base64') }, body: JSON.stringify({ event: 'Signed Up', userId: 'victim' }) })
  check('the victim\'s event is taken', sent.status === 200, String(sent.status))
  await until('the event in silver', async () => await victimEvents() === 1)
  const jobs = await (await fetch(`${base}/api/v1/jobs`, { headers: token })).json()
  const list = Array.isArray(jobs) ? jobs : jobs.jobs
  job = list[0].name
  server = evilPages(job)
  await new Promise((resolve) => server.listen(port + 2, '127.0.0.1', resolve))

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
  const context = patient(await browser.newContext())
  const page = await context.newPage()
  await page.goto(`${base}/login`)
  await page.fill('#user', 'ana')
  await page.fill('#password', 's3cret')
  const login = page.waitForResponse((r) => r.url() === `${base}/api/v1/login`)
  await page.click('#with-password button')
  const loginAnswer = await login
  // (the body only when it failed: once the page moves on, the browser has let it go)
  check('the password login answers 200', loginAnswer.status() === 200,
    loginAnswer.status() === 200 ? '' : `${loginAnswer.status()} ${await loginAnswer.text()}`)
  // on to the page asked for (by path: the page adds its date range to the address; and
  // committed is enough — what follows needs the cookie, not the page's charts)
  await page.waitForURL((u) => u.origin === base && u.pathname === '/overview', { waitUntil: 'commit' })
    .catch(async (e) => { throw new Error(`${e.message}\n  the page is at ${page.url()}`) })
  check('logged in', (await context.cookies()).some((c) => c.name === 'cp_session'))

  // --- a form on another origin, submitted by itself ---
  const runsBefore = await jobRuns()
  const forgetAnswer = page.waitForResponse((r) => r.url() === `${base}/api/v1/forget`)
  await page.goto(`${evil}/form`)
  const answer = await forgetAnswer
  check('a cross-site form to /api/v1/forget: 403', answer.status() === 403, String(answer.status()))
  check('  saying why', (await answer.text()).includes('cross-'), await answer.text())
  check('  the person is not erased', await victimEvents() === 1)

  // --- fetches from another origin, with the cookie ---
  const answers = []
  const listen = (r) => { if (r.url().startsWith(`${base}/api/v1/`)) answers.push(r.status()) }
  page.on('response', listen)
  await page.goto(`${evil}/fetch`)
  check('the other origin sent its requests', await page.evaluate(() => window.done) === 'sent')
  await until('both answers', () => answers.length === 2)
  page.off('response', listen)
  check('cross-site POSTs to jobs and forget: 403', answers.join() === '403,403', answers.join())
  check('  no job run', await jobRuns() === runsBefore)
  check('  the person is not erased', await victimEvents() === 1)

  // --- the dashboard's own pages still change things, with the session's token ---
  await page.goto(`${base}/overview`)
  const own = await page.evaluate(async (job) => {
    const me = await (await fetch('/api/v1/me')).json()
    const without = (await fetch(`/api/v1/jobs/${job}/run`, { method: 'POST' })).status
    const wrong = (await fetch(`/api/v1/jobs/${job}/run`, { method: 'POST', headers: { 'X-CSRF-Token': 'f'.repeat(64) } })).status
    const right = (await fetch(`/api/v1/jobs/${job}/run`, { method: 'POST', headers: { 'X-CSRF-Token': me.csrf } })).status
    return { without, wrong, right, csrf: me.csrf }
  }, job)
  check('same origin without the token: 403', own.without === 403, JSON.stringify(own))
  check('  with a wrong token: 403', own.wrong === 403, JSON.stringify(own))
  check('  with the session\'s token: 202', own.right === 202, JSON.stringify(own))
  check('  the token is not the session id', !(await context.cookies()).some((c) => c.value === own.csrf))
  await until('the job run recorded', async () => await jobRuns() > runsBefore)

  // --- login redirects stay on the dashboard ---
  for (const [label, next] of [['%09', `/%09/${evilHost}/landed`], ['%5C', `/%5C${evilHost}/landed`], ['//', `//${evilHost}/landed`]]) {
    const fresh = patient(await browser.newContext())
    const p = await fresh.newPage()
    await p.goto(`${base}/login?next=${next}`)
    await p.fill('#user', 'ana')
    await p.fill('#password', 's3cret')
    await p.click('#with-password button')
    await p.waitForURL((u) => u.pathname !== '/login', { waitUntil: 'commit' })
    // (the page may have added its date range to the address by the time it is read)
    const at = (path) => { const u = new URL(p.url()); return u.origin === base && u.pathname === path }
    check(`login form, next=${label}HOST: stays on the dashboard`, at('/overview'), p.url())
    await p.goto(`${base}/login?token=t0k&next=${next}`)
    check(`token link, next=${label}HOST: stays on the dashboard`, at('/'), p.url())
    await fresh.close()
  }
  check('the other origin was never reached', landed.length === 0, landed.join())
  const fresh = patient(await browser.newContext())
  const p = await fresh.newPage()
  await p.goto(`${base}/login?token=t0k&next=${encodeURIComponent('/funnel?from=2026-03-01')}`)
  const u = new URL(p.url()) // with the page's own range added to the address, perhaps
  check('a page of the dashboard as next: followed', u.origin === base && u.pathname === '/funnel' && u.searchParams.get('from') === '2026-03-01', p.url())
  await p.screenshot({ path: join(artifacts, 'csrf-after-token-link.png') })
  await fresh.close()
} catch (e) {
  fail++
  console.log(`FAIL: ${e.stack || e}`)
} finally {
  if (browser) await browser.close()
  if (server) server.close()
  if (daemon) {
    daemon.kill('SIGTERM')
    await new Promise((resolve) => daemon.exitCode !== null ? resolve() : daemon.on('exit', resolve))
  }
  rmSync(dir, { recursive: true, force: true })
}
console.log(`${pass} passed, ${fail} failed`)
process.exit(fail ? 1 : 0)
