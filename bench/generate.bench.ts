import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../synthetic/generate.js';
import type { BenchCase, BenchSuite } from './harness.js';
import { peakRssMiB } from './harness.js';

const TARGET_SECONDS = 60;

/**
 * The synthetic Taizhou generator: the wall-clock time of one whole `generate()`
 * (all five datasets, Parquet written) for 1,000,000 residents (quick: 100,000),
 * and population rows per second over that time. One run, not a median: a run
 * at full size takes tens of seconds on the 2-core machine. Target: 1,000,000
 * population rows in under 60 s.
 */
const suite: BenchSuite = {
  name: 'generate',
  async run({ quick }): Promise<BenchCase[]> {
    const rows = quick ? 100_000 : 1_000_000;
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-generate-'));
    try {
      const t0 = performance.now();
      const manifest = await generate({ outDir: dir, rows, seed: 1 });
      const seconds = (performance.now() - t0) / 1000;
      const total = manifest.datasets.reduce((s, d) => s + d.rows, 0);
      // The target is stated for 1,000,000 rows; a quick run is judged pro rata.
      const budget = (TARGET_SECONDS * rows) / 1_000_000;
      const notes = `all datasets: ${manifest.datasets.map((d) => `${d.name} ${d.rows}`).join(', ')}; peak RSS ${peakRssMiB().toFixed(0)} MiB`;
      return [
        {
          name: `generate whole ${rows} population rows (${total} rows in 5 files)`,
          metric: 'seconds',
          value: seconds,
          target: `1,000,000 population rows < ${TARGET_SECONDS} s${quick ? ' (pro rata for quick)' : ''}`,
          meetsTarget: seconds < budget,
          notes,
        },
        {
          name: `generate population rows/s at ${rows} rows`,
          metric: 'rows/s',
          value: rows / seconds,
          target: `≥ ${Math.round(1_000_000 / TARGET_SECONDS)} rows/s`,
          meetsTarget: rows / seconds >= 1_000_000 / TARGET_SECONDS,
        },
        { name: `generate all rows/s at ${rows} population rows`, metric: 'rows/s', value: total / seconds },
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
