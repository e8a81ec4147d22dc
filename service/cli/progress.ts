import cliProgress from 'cli-progress';
import type { RunView, SluiceClient } from './client.js';

/** Statuses after which a run needs nothing more from the workers. */
export const SETTLED = new Set(['released', 'blocked', 'failed', 'cancelled', 'awaiting-review']);

/**
 * Follows a run until it settles, drawing one progress bar per step on a
 * terminal, or one line per change elsewhere (CI logs). Returns the last view.
 */
export async function followRun(client: SluiceClient, runId: string, out: NodeJS.WriteStream = process.stderr): Promise<RunView> {
  const tty = Boolean(out.isTTY);
  const multi = tty
    ? new cliProgress.MultiBar(
        { stream: out, format: ' {bar} {percentage}% | {step} {status}', hideCursor: true, clearOnComplete: false, barsize: 30 },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const bars = new Map<string, cliProgress.SingleBar>();
  const lastLine = new Map<string, string>();
  let last: RunView | null = null;
  for await (const view of client.events(runId)) {
    last = view;
    const byId = new Map(view.steps.map((s) => [s.id, s]));
    for (const s of view.steps) {
      // A fused step moves with the job it runs in.
      const host = s.fusedInto ? byId.get(s.fusedInto) : undefined;
      const progress = host && s.status === 'running' ? host.progress : s.progress;
      const pct = Math.round((s.status === 'done' || s.status === 'skipped' ? 1 : progress) * 100);
      const label = `${s.id} (${s.kind})`.padEnd(28);
      const status = s.fusedInto ? `${s.status} (in ${s.fusedInto})` : s.status;
      if (multi) {
        let bar = bars.get(s.id);
        if (!bar) {
          bar = multi.create(100, 0, { step: label, status });
          bars.set(s.id, bar);
        }
        bar.update(pct, { step: label, status });
      } else {
        const line = `  ${label} ${String(pct).padStart(3)}% ${status}`;
        if (lastLine.get(s.id) !== line) {
          out.write(line + '\n');
          lastLine.set(s.id, line);
        }
      }
    }
    if (SETTLED.has(view.status)) break;
  }
  multi?.stop();
  if (!last) throw new Error('the run produced no progress events');
  return last;
}
