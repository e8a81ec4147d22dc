import { constants } from 'node:os';
import { log } from './log.js';

/** One resource to close, named for the log line of its phase. */
interface Closer {
  phase: string;
  close: () => Promise<void> | void;
}

/** Options for {@link Shutdown}. */
export interface ShutdownOptions {
  /** Where the one line per phase goes besides the log; default stderr. `null` for the log only. */
  say?: ((line: string) => void) | null;
  /**
   * How long one phase may take before the next one starts anyway, in ms;
   * default 15,000. A phase that hangs (a connection that never answers) must
   * not keep the process up forever: what it did not close dies with the process.
   */
  phaseTimeoutMs?: number;
}

/**
 * One shutdown path for a process (its lines go to the log file always; to
 * stderr as one readable line per phase, the JSON lines only at debug level): every resource is registered right after
 * it is opened and closed in reverse order (the HTTP server before the workers
 * that feed it, the workers before the queues, Redis and the control plane
 * they use). Each phase logs one line; a phase that throws or times out is
 * logged and the remaining phases still run, so one broken resource cannot
 * keep the others open.
 */
export class Shutdown {
  readonly #closers: Closer[] = [];
  #running: Promise<boolean> | null = null;
  readonly #say: ((line: string) => void) | null;
  readonly #phaseTimeoutMs: number;

  constructor(options: ShutdownOptions = {}) {
    this.#say = options.say === undefined ? (l) => process.stderr.write(l + '\n') : options.say;
    this.#phaseTimeoutMs = options.phaseTimeoutMs ?? 15_000;
  }

  /** Registers a resource just opened; it is closed before everything registered earlier. */
  add(phase: string, close: () => Promise<void> | void): void {
    if (this.#running) throw new Error(`shutdown: "${phase}" was opened after the shutdown began`);
    this.#closers.push({ phase, close });
  }

  /** True once {@link Shutdown.run} was called. */
  get started(): boolean {
    return this.#running !== null;
  }

  /**
   * Closes everything, newest first; later calls return the same promise.
   * Resolves true when every phase closed cleanly within its bound.
   */
  run(reason: string): Promise<boolean> {
    this.#running ??= this.#run(reason);
    return this.#running;
  }

  async #run(reason: string): Promise<boolean> {
    const line = (text: string) => this.#say?.(`sluice: shutdown: ${text}`);
    log.debug('shutdown.begin', { reason, phases: this.#closers.length });
    line(`${reason}; closing ${this.#closers.length} resource(s)`);
    let clean = true;
    for (const { phase, close } of this.#closers.splice(0).reverse()) {
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((res) => {
        timer = setTimeout(() => res('timeout'), this.#phaseTimeoutMs);
      });
      try {
        const outcome = await Promise.race([Promise.resolve().then(close).then(() => 'closed' as const), timeout]);
        const ms = Math.round(performance.now() - t0);
        if (outcome === 'timeout') {
          clean = false;
          log.warn('shutdown.phase', { phase, outcome: 'timeout', ms });
          line(`${phase}: not closed within ${this.#phaseTimeoutMs} ms; going on`);
        } else {
          log.debug('shutdown.phase', { phase, outcome: 'closed', ms });
          line(`${phase}: closed (${ms} ms)`);
        }
      } catch (e) {
        clean = false;
        // Only the error's class and code: a foreign message may quote data.
        const code = (e as { code?: unknown } | null)?.code;
        log.error('shutdown.phase', { phase, outcome: 'error', error: e instanceof Error ? e.name : typeof e, code: typeof code === 'string' ? code : null });
        line(`${phase}: failed to close (${e instanceof Error ? e.name : typeof e}${typeof code === 'string' ? ` ${code}` : ''}); going on`);
      } finally {
        clearTimeout(timer);
      }
    }
    log.debug('shutdown.done', { clean });
    line(clean ? 'done' : 'done, not every resource closed cleanly');
    return clean;
  }
}

/** The exit code of a process ended by a signal, as shells report it: 128 + the signal's number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** What {@link trapSignals} returns. */
export interface SignalTrap {
  /** Resolves with the first SIGINT or SIGTERM. */
  first: Promise<NodeJS.Signals>;
  /** Removes the handlers (the process then reacts to signals as by default). */
  dispose(): void;
}

/**
 * Turns SIGINT and SIGTERM into a graceful shutdown: the first one resolves
 * `first` (the caller runs its {@link Shutdown}); a second one exits at once
 * with 128 + its number (130 for SIGINT, 143 for SIGTERM), for the operator
 * who does not want to wait for a running step. Install it before opening
 * anything, so a signal during startup is not lost.
 */
export function trapSignals(say: ((line: string) => void) | null = (l) => process.stderr.write(l + '\n')): SignalTrap {
  let resolveFirst!: (s: NodeJS.Signals) => void;
  const first = new Promise<NodeJS.Signals>((res) => (resolveFirst = res));
  let seen: NodeJS.Signals | null = null;
  const handler = (signal: NodeJS.Signals) => {
    if (seen === null) {
      seen = signal;
      log.debug('shutdown.signal', { signal, graceful: true });
      say?.(`sluice: ${signal} received; shutting down gracefully (send it again to exit at once)`);
      resolveFirst(signal);
      return;
    }
    const code = signalExitCode(signal);
    log.warn('shutdown.signal', { signal, graceful: false, exitCode: code });
    say?.(`sluice: second signal (${signal}); exiting at once with code ${code}`);
    // process.exit() is not "at once": Node joins the libuv thread pool on exit,
    // and a DuckDB query running there (a step) holds it until the query ends.
    // Dying by the signal itself (default action) is immediate; shells report it as 128 + n.
    process.exitCode = code;
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    process.kill(process.pid, signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    first,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/**
 * Sets the exit code and makes sure the process ends: after a complete
 * shutdown nothing should hold the event loop, and normally the process ends
 * by itself. If something still does after `graceMs`, that is a leak: its kind
 * is logged (the resource types Node reports, e.g. `TCPSocketWrap`) and the
 * process exits anyway, so `sluice demo` or a stopped service never hangs.
 */
export function exitWhenIdle(code: number, graceMs = 3000): void {
  process.exitCode = code;
  setTimeout(() => {
    const lingering = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'Timeout');
    log.warn('shutdown.lingering', { resources: lingering.join(',') || 'none', exitCode: code });
    process.exit(code);
  }, graceMs).unref();
}

const abandonment = new AbortController();

/**
 * Aborted when this process hands its running jobs back at shutdown: every running
 * DuckDB statement listens and interrupts itself, because a statement left running
 * holds a libuv thread and Node cannot exit until it ends.
 */
export const abandonSignal: AbortSignal = abandonment.signal;

/** Interrupts every DuckDB statement of this process that listens on {@link abandonSignal}. */
export function abandonRunningWork(): void {
  abandonment.abort();
}

/** Calls `interrupt` when this process abandons its work; returns the function that stops listening. */
export function onAbandon(interrupt: () => void): () => void {
  if (abandonSignal.aborted) {
    interrupt();
    return () => undefined;
  }
  abandonSignal.addEventListener('abort', interrupt, { once: true });
  return () => abandonSignal.removeEventListener('abort', interrupt);
}
