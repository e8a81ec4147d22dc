/** What `sluice serve` started, as far as the CLI knows it before the service answers. */
export interface AnnounceOptions {
  host: string;
  port: number;
  /** Workers in the service's process (what serve() was asked for, or its default). */
  workers: number;
  out(line: string): void;
}

/**
 * Prints, once the service answers /health, the URL it listens on and what it
 * started (control plane kind, workers, queue). serve() runs until a signal and
 * returns nothing earlier, so the CLI learns "listening" by asking; it gives up
 * silently when serve() ends first (its error is reported by the caller).
 */
export async function announceWhenListening(o: AnnounceOptions, running: Promise<unknown>): Promise<void> {
  let done = false;
  running.then(() => (done = true), () => (done = true));
  const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`;
  const probe = o.host === '0.0.0.0' ? `http://127.0.0.1:${o.port}` : o.host === '::' ? `http://[::1]:${o.port}` : url;
  while (!done) {
    try {
      const res = await fetch(`${probe}/health`);
      if (res.ok) {
        const h = (await res.json()) as { controlPlane?: string; queue?: string };
        const cp = h.controlPlane === 'pglite' ? 'embedded PGlite (this process only)' : h.controlPlane === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : String(h.controlPlane);
        o.out(`sluice serve: listening on ${url}`);
        o.out(`  control plane: ${cp}`);
        o.out(`  workers:       ${o.workers} in this process${o.workers === 0 ? ' (start some with `sluice worker`)' : ''}`);
        if (h.queue) o.out(`  queue:         ${h.queue}`);
        o.out('  stop with Ctrl-C or SIGTERM');
        return;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
