import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../../../lib/errors.js';
import { createPool, runTask, taskFile } from '../../../lib/pool.js';
import type { TaskName } from '../../../lib/pool.js';
import type { ThrowingTask } from '../../fixtures/tasks/throwing-task.js';

describe('taskFile', () => {
  it('resolves every task name to an existing file under workers/tasks/', () => {
    const names: TaskName[] = ['mondrian-task', 'forest-task'];
    for (const name of names) {
      const path = fileURLToPath(taskFile(name));
      expect(path).toMatch(/[/\\]workers[/\\]tasks[/\\][a-z-]+\.ts$/);
      expect(existsSync(path)).toBe(true);
    }
  });
});

describe('a thread crossing (wireTask / runTask)', () => {
  const pool = createPool(new URL('../../fixtures/tasks/throwing-task.ts', import.meta.url), { maxThreads: 1 });
  afterAll(() => pool.destroy());
  const run = (task: ThrowingTask): Promise<number> => runTask<number>(pool, task, 'fixture pool');
  const failure = async (task: ThrowingTask): Promise<SluiceError> => {
    const e: unknown = await run(task).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(SluiceError);
    return e as SluiceError;
  };

  it('passes a result through', async () => {
    expect(await run({ kind: 'ok', value: 21 })).toBe(42);
  });

  it("keeps a SluiceError's code and message, and the catalogue's status", async () => {
    const e = await failure({ kind: 'sluice' });
    expect(e.code).toBe('SLUICE_ERR_TRANSFORM_INVALID');
    expect(e.status).toBe(400);
    expect(e.message).toBe('options.k: expected an integer ≥ 1, found a fraction');
  });

  it("withholds a foreign error's message (it can quote a value), keeping its class", async () => {
    const e = await failure({ kind: 'foreign' });
    expect(e.code).toBe('SLUICE_ERR_INTERNAL');
    expect(e.message).toBe('fixture task: unexpected TypeError; details withheld');
    expect(e.message).not.toContain('ZHANG');
  });

  it('turns an unwrapped failure into an internal error naming the pool', async () => {
    const e = await failure({ kind: 'unwrapped' });
    expect(e.code).toBe('SLUICE_ERR_INTERNAL');
    expect(e.message).toBe('fixture pool: unexpected worker failure; details withheld');
    expect(e.message).not.toContain('ZHANG');
  });
});
