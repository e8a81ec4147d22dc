import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseArxHierarchy, type Hierarchy } from '../../../transforms/hierarchy.js';
import {
  applyGeneralization,
  encodeData,
  exhaustiveKAnonymize,
  optimalKAnonymize,
  type AnonymizationData,
  type KAnonymizeConfig,
  type KAnonymizeResult,
} from '../../../transforms/k-anonymize-optimal.js';
import { arxLoss, discernibility } from '../../../transforms/metrics.js';
import { distinctLDiverse, entropyLDiverse, recursiveCLDiverse, tClose } from '../../../transforms/privacy-models.js';
import { adultLikeHierarchyCsv, generateAdultLike } from '../../../synthetic/adult-like.js';

/**
 * A generated Adult-like table with its nine hierarchies, read through the ARX
 * parser. 15,000 rows (half of Adult's size) keep the exhaustive search, which
 * checks all 12,960 nodes per setting, short; the table is as sparse as Adult
 * (most records unique on the nine columns), so the searches still have work to do.
 */
function loadAdultLike(): { columns: Record<string, string[]>; header: string[]; hierarchies: Record<string, Hierarchy> } {
  const t = generateAdultLike({ rows: 15_000, seed: 1 });
  const hierarchies = Object.fromEntries(t.header.map((c) => [c, parseArxHierarchy(adultLikeHierarchyCsv(c))]));
  return { columns: t.columns, header: [...t.header], hierarchies };
}

/** The number of generalization vectors: the product of the hierarchies' heights. */
const latticeSize = (data: AnonymizationData): number => data.quasiIdentifiers.reduce((p, q) => p * q.hierarchy.height, 1);

/**
 * Checks a result from its released strings alone: every kept class has ≥ k
 * records (and ≥ ℓ distinct sensitive values when asked), suppression is
 * within the limit, and both metrics recomputed from the strings match.
 */
function verifyRelease(data: AnonymizationData, config: KAnonymizeConfig, r: KAnonymizeResult, sensitive?: string[]): void {
  const { columns, report } = applyGeneralization(data, r.levels, r.suppressedRows);
  const names = data.quasiIdentifiers.map((q) => q.name);
  const classes = new Map<string, { size: number; values: Set<string> }>();
  let suppressed = 0;
  for (let i = 0; i < data.n; i++) {
    if (r.suppressedRows[i]) {
      suppressed++;
      for (const n of names) expect(columns[n]![i]).toBe('*');
      continue;
    }
    const key = names.map((n) => columns[n]![i]).join('\u0000');
    const c = classes.get(key) ?? { size: 0, values: new Set<string>() };
    c.size++;
    if (sensitive) c.values.add(sensitive[i]!);
    classes.set(key, c);
  }
  expect(suppressed).toBe(r.suppressed);
  expect(report.suppressedRecords).toBe(r.suppressed);
  expect(suppressed).toBeLessThanOrEqual(Math.floor(config.suppressionLimit * data.n + 1e-9));
  for (const c of classes.values()) {
    expect(c.size).toBeGreaterThanOrEqual(config.k);
    if (config.l && sensitive) expect(c.values.size).toBeGreaterThanOrEqual(config.l.l);
  }
  const sizes = [...classes.values()].map((c) => c.size);
  expect(sizes.length).toBe(r.classes.count);
  expect(discernibility({ n: data.n, sizes, suppressed })).toBe(r.discernibility);
  // Loss from the released labels: hierarchy rows under each label at the level, a suppressed record counting |D|
  const loss = arxLoss(
    data.n,
    data.quasiIdentifiers.map((q, a) => {
      const under = new Map<string, number>();
      for (const row of q.hierarchy.rows) under.set(row[r.levels[a]!]!, (under.get(row[r.levels[a]!]!) ?? 0) + 1);
      let num = 0;
      for (let i = 0; i < data.n; i++) num += r.suppressedRows[i] ? q.hierarchy.rows.length : under.get(columns[q.name]![i]!)!;
      return { domainSize: q.hierarchy.rows.length, shareNumerator: num };
    }),
  );
  expect(loss).toBeCloseTo(r.loss, 12);
}

describe('optimal = exhaustive on random small tables (property, every model, with and without suppression)', () => {
  const hierarchy = (leaves: number, fanout: number, height: number): Hierarchy => ({
    rows: Array.from({ length: leaves }, (_, i) => [
      `v${i}`,
      ...Array.from({ length: height - 2 }, (_, l) => `g${l}_${Math.floor(i / fanout ** (l + 1))}`),
      '*',
    ]),
    height,
  });
  const table = fc
    .record({
      attrs: fc.array(fc.record({ leaves: fc.integer({ min: 2, max: 7 }), fanout: fc.integer({ min: 2, max: 3 }), height: fc.integer({ min: 2, max: 4 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
      n: fc.integer({ min: 4, max: 60 }),
      seed: fc.integer({ min: 1, max: 1 << 30 }),
    })
    .map(({ attrs, n, seed }) => {
      let s = seed;
      const rnd = (m: number) => {
        s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
        return s % m;
      };
      const hs = attrs.map((a) => hierarchy(a.leaves, a.fanout, a.height));
      const columns: Record<string, string[]> = {};
      hs.forEach((h, i) => (columns[`q${i}`] = Array.from({ length: n }, () => h.rows[rnd(h.rows.length)]![0]!)));
      // skewed sensitive values so that ℓ and t fail somewhere
      columns['s'] = Array.from({ length: n }, () => String(rnd(4) === 0 ? rnd(4) : 0));
      return encodeData(columns, { quasiIdentifiers: hs.map((h, i) => ({ column: `q${i}`, hierarchy: h })), sensitive: ['s'] });
    });
  const config = fc.record({
    k: fc.integer({ min: 1, max: 6 }),
    suppressionLimit: fc.constantFrom(0, 0.1, 0.3),
    metric: fc.constantFrom('loss' as const, 'discernibility' as const),
    l: fc.option(
      fc.oneof(
        fc.record({ variant: fc.constant('distinct' as const), l: fc.integer({ min: 1, max: 3 }) }),
        fc.record({ variant: fc.constant('entropy' as const), l: fc.constantFrom(1.2, 1.5, 2) }),
        fc.record({ variant: fc.constant('recursive' as const), l: fc.integer({ min: 1, max: 3 }), c: fc.constantFrom(1, 2, 3) }),
      ),
      { nil: undefined },
    ),
    t: fc.option(fc.record({ variant: fc.constantFrom('equal' as const, 'ordered' as const), t: fc.constantFrom(0.2, 0.4, 0.6) }), { nil: undefined }),
  });

  it('returns the same level vector, value and suppression, or both find no solution', () => {
    let solved = 0;
    let unsolved = 0;
    fc.assert(
      fc.property(table, config, (data, raw) => {
        const cfg: KAnonymizeConfig = { k: raw.k, suppressionLimit: raw.suppressionLimit, metric: raw.metric };
        if (raw.l) cfg.l = raw.l;
        if (raw.t) cfg.t = raw.t;
        let ex: KAnonymizeResult | undefined;
        let op: KAnonymizeResult | undefined;
        try {
          ex = exhaustiveKAnonymize(data, cfg);
        } catch (e) {
          expect((e as { code: string }).code).toBe('SLUICE_ERR_ANON_UNSATISFIABLE');
        }
        try {
          op = optimalKAnonymize(data, cfg);
        } catch (e) {
          expect((e as { code: string }).code).toBe('SLUICE_ERR_ANON_UNSATISFIABLE');
        }
        expect(op === undefined).toBe(ex === undefined);
        if (ex && op) {
          solved++;
          expect(op.levels).toEqual(ex.levels);
          expect(op.value).toBe(ex.value);
          expect(op.suppressed).toBe(ex.suppressed);
          verifyRelease(data, cfg, op);
        } else unsolved++;
      }),
      { seed: 20240501, numRuns: 1500 },
    );
    // both outcomes were exercised
    expect(solved).toBeGreaterThan(300);
    expect(unsolved).toBeGreaterThan(0);
  });

  it('the exhaustive search agrees with a naive reference built from strings and the model predicates alone (property)', () => {
    // independent of the searches' grouping, roll-up and bounds: generalize every vector as strings and judge each class
    const naive = (data: AnonymizationData, cfg: KAnonymizeConfig): { levels: number[]; value: number } | undefined => {
      const heights = data.quasiIdentifiers.map((q) => q.hierarchy.height);
      const sens = data.sensitive[0]!;
      const global = new Array<number>(sens.values.length).fill(0);
      for (let i = 0; i < data.n; i++) global[sens.codes[i]!]!++;
      const ok = (size: number, hist: number[]): boolean =>
        size >= cfg.k &&
        (cfg.l === undefined ||
          (cfg.l.variant === 'distinct'
            ? distinctLDiverse(hist, cfg.l.l)
            : cfg.l.variant === 'entropy'
              ? entropyLDiverse(hist, cfg.l.l)
              : recursiveCLDiverse(hist, cfg.l.c ?? 1, cfg.l.l))) &&
        (cfg.t === undefined || tClose(hist, global, cfg.t.t, cfg.t.variant));
      let best: { levels: number[]; value: number; sum: number } | undefined;
      const levels = heights.map(() => 0);
      for (;;) {
        const { columns } = applyGeneralization(data, levels, new Uint8Array(data.n));
        const groups = new Map<string, number[]>();
        for (let i = 0; i < data.n; i++) {
          const key = data.quasiIdentifiers.map((q) => columns[q.name]![i]).join('\u0000');
          const g = groups.get(key) ?? [];
          g.push(i);
          groups.set(key, g);
        }
        const suppressed = new Uint8Array(data.n);
        let nSup = 0;
        const kept: number[] = [];
        for (const rows of groups.values()) {
          const hist = new Array<number>(sens.values.length).fill(0);
          for (const i of rows) hist[sens.codes[i]!]!++;
          if (ok(rows.length, hist)) kept.push(rows.length);
          else for (const i of rows) (suppressed[i] = 1), nSup++;
        }
        if (nSup <= Math.floor(cfg.suppressionLimit * data.n + 1e-9)) {
          const value =
            cfg.metric === 'discernibility'
              ? discernibility({ n: data.n, sizes: kept, suppressed: nSup })
              : arxLoss(
                  data.n,
                  data.quasiIdentifiers.map((q, a) => {
                    const under = new Map<string, number>();
                    for (const row of q.hierarchy.rows) under.set(row[levels[a]!]!, (under.get(row[levels[a]!]!) ?? 0) + 1);
                    let num = 0;
                    for (let i = 0; i < data.n; i++) num += suppressed[i] ? q.hierarchy.rows.length : under.get(columns[q.name]![i]!)!;
                    return { domainSize: q.hierarchy.rows.length, shareNumerator: num };
                  }),
                );
          const sum = levels.reduce((x, y) => x + y, 0);
          // levels are enumerated in lexicographic order, so only a strictly better (value, sum) replaces
          if (best === undefined || value < best.value || (value === best.value && sum < best.sum)) best = { levels: [...levels], value, sum };
        }
        let a = levels.length - 1;
        while (a >= 0 && levels[a] === heights[a]! - 1) levels[a--] = 0;
        if (a < 0) break;
        levels[a]!++;
      }
      return best && { levels: best.levels, value: best.value };
    };
    fc.assert(
      fc.property(table, config, (data, raw) => {
        const cfg: KAnonymizeConfig = { k: raw.k, suppressionLimit: raw.suppressionLimit, metric: raw.metric };
        if (raw.l) cfg.l = raw.l;
        if (raw.t) cfg.t = raw.t;
        const ref = naive(data, cfg);
        let ex: KAnonymizeResult | undefined;
        try {
          ex = exhaustiveKAnonymize(data, cfg);
        } catch {
          ex = undefined;
        }
        expect(ex === undefined).toBe(ref === undefined);
        if (ex && ref) {
          expect(ex.levels).toEqual(ref.levels);
          expect(ex.value).toBe(ref.value);
        }
      }),
      { seed: 99, numRuns: 300 },
    );
  });

  it('breaks ties by level sum, then lexicographically (symmetric columns)', () => {
    const h: Hierarchy = { rows: [['a', 'A', '*'], ['b', 'A', '*'], ['c', 'B', '*'], ['d', 'B', '*']], height: 3 };
    // every (x, y) pair once: (0,2), (1,1) and (2,0) all give four classes of 4 (discernibility 64)
    const x: string[] = [];
    const y: string[] = [];
    for (const u of 'abcd') for (const v of 'abcd') x.push(u), y.push(v);
    const data = encodeData({ x, y }, { quasiIdentifiers: [{ column: 'x', hierarchy: h }, { column: 'y', hierarchy: h }] });
    const dm: KAnonymizeConfig = { k: 4, suppressionLimit: 0, metric: 'discernibility' };
    expect(exhaustiveKAnonymize(data, dm)).toMatchObject({ levels: [0, 2], value: 64 });
    expect(optimalKAnonymize(data, dm)).toMatchObject({ levels: [0, 2], value: 64 });
    // Loss separates them: (1,1) loses 1/3, (0,2) loses √2 − 1
    const loss: KAnonymizeConfig = { k: 4, suppressionLimit: 0, metric: 'loss' };
    expect(exhaustiveKAnonymize(data, loss).levels).toEqual([1, 1]);
    expect(optimalKAnonymize(data, loss).value).toBeCloseTo(1 / 3, 12);
  });
});

describe('Adult-like data (15,000 generated records, ARX-format hierarchies): optimal = exhaustive', () => {
  let adult: ReturnType<typeof loadAdultLike>;
  let all: AnonymizationData;
  let ldiv: AnonymizationData;
  beforeAll(() => {
    adult = loadAdultLike();
    all = encodeData(adult.columns, { quasiIdentifiers: adult.header.map((c) => ({ column: c, hierarchy: adult.hierarchies[c]! })) });
    ldiv = encodeData(adult.columns, {
      quasiIdentifiers: adult.header.filter((c) => c !== 'occupation').map((c) => ({ column: c, hierarchy: adult.hierarchies[c]! })),
      sensitive: ['occupation'],
    });
  });

  const settings: KAnonymizeConfig[] = [
    { k: 5, suppressionLimit: 0, metric: 'loss' },
    { k: 5, suppressionLimit: 0.05, metric: 'loss' },
    { k: 10, suppressionLimit: 0.05, metric: 'discernibility' },
    { k: 2, suppressionLimit: 0, metric: 'discernibility' },
    { k: 20, suppressionLimit: 0.05, metric: 'loss' },
    { k: 50, suppressionLimit: 0, metric: 'discernibility' },
    { k: 100, suppressionLimit: 0.05, metric: 'loss' },
  ];
  for (const cfg of settings) {
    it(`k=${cfg.k}, suppression ${cfg.suppressionLimit}, ${cfg.metric}: same optimum; the release is k-anonymous`, () => {
      const ex = exhaustiveKAnonymize(all, cfg);
      const op = optimalKAnonymize(all, cfg);
      const nodes = latticeSize(all);
      expect(nodes).toBe(12960); // 5·4·3·3·3·2·2·2·3 levels, as ARX's Adult hierarchies have
      expect(ex.stats.nodes).toBe(nodes);
      expect(ex.stats.checked).toBe(nodes);
      expect(op.levels).toEqual(ex.levels);
      expect(op.value).toBe(ex.value);
      expect(op.suppressed).toBe(ex.suppressed);
      expect(op.stats.checked + op.stats.pruned).toBe(nodes);
      expect(op.stats.checked).toBeLessThan(nodes);
      verifyRelease(all, cfg, op);
      // positive control: the raw table (all levels 0) is not k-anonymous, so the check had something to catch
      const raw = applyGeneralization(all, all.quasiIdentifiers.map(() => 0), new Uint8Array(all.n));
      const counts = new Map<string, number>();
      for (let i = 0; i < all.n; i++) {
        const key = all.quasiIdentifiers.map((q) => raw.columns[q.name]![i]).join('\u0000');
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      expect(Math.min(...counts.values())).toBeLessThan(cfg.k);
    }, 600_000);
  }

  const ldivSettings: KAnonymizeConfig[] = [
    { k: 2, l: { variant: 'distinct', l: 2 }, suppressionLimit: 0, metric: 'loss' },
    { k: 2, l: { variant: 'distinct', l: 2 }, suppressionLimit: 0.05, metric: 'discernibility' },
  ];
  for (const cfg of ldivSettings) {
    it(`distinct ℓ=2 on occupation, the other 8 as quasi-identifiers, suppression ${cfg.suppressionLimit}, ${cfg.metric}: same optimum; every class has ≥ 2 occupations`, () => {
      const ex = exhaustiveKAnonymize(ldiv, cfg);
      const op = optimalKAnonymize(ldiv, cfg);
      expect(ex.stats.nodes).toBe(latticeSize(ldiv));
      expect(op.levels).toEqual(ex.levels);
      expect(op.value).toBe(ex.value);
      expect(op.suppressed).toBe(ex.suppressed);
      verifyRelease(ldiv, cfg, op, adult.columns['occupation']);
      // negative control for the ℓ check itself: a class with one occupation is rejected
      expect(distinctLDiverse([0, 3, 0], 2)).toBe(false);
    }, 600_000);
  }

  it('says so when a config cannot be satisfied (ℓ above the number of occupations), without data values', () => {
    const cfg: KAnonymizeConfig = { k: 2, l: { variant: 'distinct', l: 20 }, suppressionLimit: 0, metric: 'loss' };
    let err: { code?: string; message?: string } = {};
    try {
      optimalKAnonymize(ldiv, cfg);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe('SLUICE_ERR_ANON_UNSATISFIABLE');
    expect(err.message).toMatch(/no generalization of the 8 quasi-identifiers satisfies k=2, distinct l=20/);
    for (const v of new Set(adult.columns['occupation'])) expect(err.message).not.toContain(v);
  });

  it('applyGeneralization reports what it generalized and suppressed per column', () => {
    const r = optimalKAnonymize(all, { k: 5, suppressionLimit: 0.05, metric: 'loss' });
    const { report } = applyGeneralization(all, r.levels, r.suppressedRows);
    expect(report.suppressedRecords).toBe(r.suppressed);
    all.quasiIdentifiers.forEach((q, a) => {
      const c = report.columns[q.name]!;
      expect(c.level).toBe(r.levels[a]);
      expect(c.suppressed).toBe(r.suppressed);
      if (r.levels[a] === 0) expect(c.generalized).toBe(0);
      else expect(c.generalized).toBeGreaterThan(0);
    });
  }, 120_000);
});
