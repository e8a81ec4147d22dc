import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { taskFile } from '../../../lib/pool.js';
import type { TaskName } from '../../../lib/pool.js';

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
