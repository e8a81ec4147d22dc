import { SluiceError, isSluiceError } from '../../lib/errors.js';
import { limitError, type StepLimits } from '../../lib/limits.js';
import { log } from '../../lib/log.js';
import { onAbandon } from '../../lib/shutdown.js';

/** Anything whose running statement can be interrupted: a DuckDB connection. */
export interface Interruptible {
  interrupt(): void;
}

/** Why a guard stopped its step. */
export type GuardStop = 'time' | 'cancelled';

/** Options of {@link StepGuard}. */
export interface StepGuardOptions {
  /** Names the step in messages and log lines, e.g. `run r step q`. */
  subject: string;
  runId: string;
  limits: StepLimits;
  /** Asked every `pollMs`; true stops the step (the run was cancelled). */
  isCancelled: () => Promise<boolean>;
  /** How often the run's status is asked for, and a stopped step's connections interrupted again; default 250 ms. */
  pollMs?: number;
}

/**
 * Watches one step's DuckDB connections. DuckDB has no statement timeout and
 * an interrupt reaches only the statement running at that moment, so the guard
 * keeps its own clock: at the step's time limit, or as soon as a poll finds its
 * run cancelled, every watched connection is interrupted, and interrupted again
 * at each poll until the step ends (a statement started after the stop is
 * stopped too). A connection watched after the stop is refused. When this
 * process hands its work back at shutdown, the connections are interrupted as well.
 * {@link StepGuard.explain} turns whatever the interrupted statement threw into
 * the error that names the cause.
 */
export class StepGuard {
  readonly limits: StepLimits;
  readonly #options: StepGuardOptions;
  readonly #conns = new Set<Interruptible>();
  #stopped: GuardStop | null = null;
  #deadline: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #polling = false;
  #abandoned = false;
  #stopAbandon: (() => void) | undefined;

  constructor(options: StepGuardOptions) {
    this.#options = options;
    this.limits = options.limits;
  }

  /** Starts the clock and the polls. */
  start(): void {
    // Neither timer may keep a process alive: a stopping process ends its steps by interrupting them.
    this.#deadline = setTimeout(() => this.#stop('time'), this.limits.timeMs).unref();
    this.#poll = setInterval(() => void this.#tick(), this.#options.pollMs ?? 250).unref();
    this.#stopAbandon = onAbandon(() => {
      this.#abandoned = true;
      this.#interruptAll();
    });
  }

  /** Why the step was stopped, or null. */
  get stopped(): GuardStop | null {
    return this.#stopped;
  }

  /** Watches a connection until the returned function is called; refused once the step was stopped. */
  watch(conn: Interruptible): () => void {
    const stop = this.stopError();
    if (stop) throw stop;
    this.#conns.add(conn);
    return () => void this.#conns.delete(conn);
  }

  /** The error a stop means (the time limit, or the run's cancellation); null while not stopped. */
  stopError(): SluiceError | null {
    if (this.#stopped === 'time') return SluiceError.of('SLUICE_ERR_LIMIT_TIME', { subject: this.#options.subject, limit: this.limits.timeMs });
    if (this.#stopped === 'cancelled') return SluiceError.of('SLUICE_ERR_RUN_CANCELLED', { runId: this.#options.runId });
    return null;
  }

  /**
   * What a failure of the step means: after a stop, the stop (an interrupted
   * statement throws whatever DuckDB or its caller makes of the interrupt);
   * a DuckDB memory or spill failure (or our error wrapping one), that limit;
   * else the error itself.
   */
  explain(e: unknown): unknown {
    const stop = this.stopError();
    if (stop) return stop;
    // Our wrappers of DuckDB's errors keep the original as their cause (in this process only).
    const raw = isSluiceError(e) ? e.cause : e;
    return (raw !== undefined && limitError(raw, this.#options.subject, this.limits)) || e;
  }

  /** Stops the clock and the polls; the step is over. */
  dispose(): void {
    clearTimeout(this.#deadline);
    clearInterval(this.#poll);
    this.#stopAbandon?.();
    this.#conns.clear();
  }

  #stop(why: GuardStop): void {
    if (this.#stopped) return;
    this.#stopped = why;
    log.warn(why === 'time' ? 'step.limit' : 'step.cancelled', { runId: this.#options.runId, subject: this.#options.subject, ...(why === 'time' ? { limit: 'time', ms: this.limits.timeMs } : {}) });
    this.#interruptAll();
  }

  async #tick(): Promise<void> {
    // After a stop, and once this process hands its work back, a statement started since is interrupted too.
    if (this.#stopped || this.#abandoned) {
      this.#interruptAll();
      return;
    }
    if (this.#polling) return;
    this.#polling = true;
    try {
      if (await this.#options.isCancelled()) this.#stop('cancelled');
    } catch {
      // A failed poll (the control plane busy) is asked again at the next tick.
    } finally {
      this.#polling = false;
    }
  }

  #interruptAll(): void {
    for (const c of this.#conns) {
      try {
        c.interrupt();
      } catch {
        // A connection closing under us has nothing left to interrupt.
      }
    }
  }
}
