// Shared by the browser tests: free ports, and waiting for a condition with a deadline.
import { createServer } from 'node:net'

// Whether PORT on loopback can be listened on now.
function free (port) {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

// N consecutive free ports from a random base between 20000 and 32000 (below the kernel's
// ephemeral range, where brokers and outgoing connections take theirs).
export async function freePorts (n) {
  for (let i = 0; i < 200; i++) {
    const base = 20000 + Math.floor(Math.random() * (12000 - n))
    const ports = Array.from({ length: n }, (_, k) => base + k)
    if ((await Promise.all(ports.map(free))).every(Boolean)) return ports
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
