// Shared by the browser tests: free ports, and waiting for a condition with a deadline.
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

// Whether PORT on loopback can be listened on now.
function free (port) {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

// Reserves the block of ports at BASE for as long as this process lives: the same lock
// as the shell tests take (tests/integration/net.sh free_ports), on
// $TMPDIR/clickpulse-ports/BASE, held by a flock(1) child that exits when our end of its
// stdin closes. Resolves to the holder, or null when another test holds the block.
function reserve (base) {
  const dir = join(process.env.TMPDIR || '/tmp', 'clickpulse-ports')
  mkdirSync(dir, { recursive: true })
  return new Promise((resolve) => {
    const holder = spawn('flock', ['-n', '-E', '75', join(dir, String(base)), 'sh', '-c', 'echo held; exec cat > /dev/null'],
      { stdio: ['pipe', 'pipe', 'ignore'] })
    holder.once('error', (e) => { throw new Error(`freePorts needs flock(1) (util-linux): ${e.message}`) })
    holder.once('exit', () => resolve(null))
    holder.stdout.once('data', () => {
      holder.removeAllListeners('exit')
      holder.stdout.destroy()
      holder.unref()
      holder.stdin.unref()
      resolve(holder)
    })
  })
}

// N (at most 20) consecutive free ports from a random block between 20000 and 32000 (below
// the kernel's ephemeral range, where brokers and outgoing connections take theirs), the
// block reserved against every other test until this process exits.
export async function freePorts (n) {
  if (n > 20) throw new Error('freePorts: at most 20 ports a block')
  for (let i = 0; i < 400; i++) {
    const base = 20000 + Math.floor(Math.random() * 600) * 20
    const holder = await reserve(base)
    if (!holder) continue
    const ports = Array.from({ length: n }, (_, k) => base + k)
    if ((await Promise.all(ports.map(free))).every(Boolean)) return ports
    holder.stdin.end() // (the lock is its child's: ending its input lets it go)
  }
  throw new Error(`no ${n} free ports from 20000 to 32000`)
}

// Calls fn every 100 ms until it returns something truthy, which is returned; throws once
// DEADLINE (a Date.now() value) has passed. fn may throw to give up at once.
export async function until (deadline, fn, what = 'the condition') {
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() >= deadline) throw new Error(`${what} did not hold before the deadline`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

// The deadline of every browser wait that has none of its own (navigations, clicks,
// waitForFunction, waitForURL): a minute, for busy machines; the condition ends it sooner.
export const WAIT = 60000
export function patient (contextOrPage) {
  contextOrPage.setDefaultTimeout(WAIT)
  contextOrPage.setDefaultNavigationTimeout(WAIT)
  return contextOrPage
}
