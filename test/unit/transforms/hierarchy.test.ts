import { ADULT_DIR, ADULT_FILES } from '../../../lib/shared-data.js';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressHierarchy,
  ageHierarchy,
  areaCodeHierarchy,
  dateHierarchy,
  intervalHierarchy,
  leafOrder,
  orderedHierarchy,
  parseArxHierarchy,
  toArxCsv,
  unorderedHierarchy,
  validateHierarchy,
  type Hierarchy,
} from '../../../transforms/hierarchy.js';
import { ADULT_LIKE_COLUMNS, adultLikeHierarchyCsv } from '../../../synthetic/adult-like.js';
import { skipWithoutAdult } from '../../helpers/optional-data.js';

/** The generated Adult-like hierarchies as ARX CSV text, by ARX's file name. */
const GENERATED: Record<string, string> = Object.fromEntries(ADULT_LIKE_COLUMNS.map((c) => [`adult_hierarchy_${c}.csv`, adultLikeHierarchyCsv(c)]));
const FILES = Object.keys(GENERATED);
const generated = (column: string): Hierarchy => parseArxHierarchy(GENERATED[`adult_hierarchy_${column}.csv`]!);
const NO_ADULT = skipWithoutAdult("round-trip of ARX's own Adult hierarchy files");

function catchError(fn: () => unknown): { code?: string; message: string; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

/** For every level, the leaves of each group form one contiguous run of `order`. */
function groupsContiguous(h: Hierarchy, order: string[]): boolean {
  const rowOf = new Map(h.rows.map((r) => [r[0]!, r]));
  for (let l = 1; l < h.height; l++) {
    const seen = new Set<string>();
    let prev: string | undefined;
    for (const leaf of order) {
      const g = rowOf.get(leaf)![l]!;
      if (g !== prev) {
        if (seen.has(g)) return false;
        seen.add(g);
        prev = g;
      }
    }
  }
  return true;
}

/** parse → toArxCsv → parse gives the same hierarchy, and toArxCsv writes the same lines it read. */
function roundTrip(text: string): void {
  const h = parseArxHierarchy(text);
  expect(h.rows.length).toBe(text.split(/\r?\n/).filter((l) => l.trim() !== '').length);
  const out = toArxCsv(h);
  expect(parseArxHierarchy(out)).toEqual(h);
  expect(out.trimEnd().split('\n')).toEqual(text.trimEnd().split(/\r?\n/));
  expect(h.rows.every((r) => r[h.height - 1] === '*')).toBe(true);
}

describe('ARX CSV import and export', () => {
  it('has the nine Adult-like hierarchies, one per column', () => {
    expect(FILES).toHaveLength(9);
  });

  for (const file of FILES) {
    it(`round-trips the generated ${file}: parse → toArxCsv → parse gives the same hierarchy and the same lines`, () => {
      roundTrip(GENERATED[file]!);
    });
  }

  it('round-trips a file with CRLF line ends to the same rows', () => {
    const text = GENERATED['adult_hierarchy_education.csv']!;
    expect(parseArxHierarchy(text.replace(/\n/g, '\r\n'))).toEqual(parseArxHierarchy(text));
  });

  it('quotes cells containing the separator and reads them back', () => {
    const h: Hierarchy = { rows: [['a;1', 'x"y', '*'], ['b', 'x"y', '*']], height: 3 };
    const csv = toArxCsv(h);
    expect(csv).toContain('"a;1"');
    expect(parseArxHierarchy(csv)).toEqual(h);
  });

  it('accepts another separator and CRLF line ends', () => {
    expect(parseArxHierarchy('a,A,*\r\nb,A,*\r\n', ',')).toEqual({ rows: [['a', 'A', '*'], ['b', 'A', '*']], height: 3 });
  });
});

describe.skipIf(NO_ADULT)("ARX's own Adult hierarchy files (shared/data/adult or SLUICE_ADULT_DIR)", () => {
  for (const file of ADULT_FILES.filter((f) => f.startsWith('adult_hierarchy_'))) {
    it(`round-trips ARX's ${file}`, () => {
      roundTrip(readFileSync(ADULT_DIR + file, 'utf8'));
    });
  }
});

describe('hierarchy validation names the row and column, never a value', () => {
  it('rejects an inconsistent height (row 3 has 2 columns)', () => {
    const e = catchError(() => parseArxHierarchy('secretA;X;*\nsecretB;X;*\nsecretC;*\n'));
    expect(e.code).toBe('SLUICE_ERR_HIERARCHY_INVALID');
    expect(e.message).toMatch(/row 3 has 2 columns, expected 3/);
    expect(e.message).not.toContain('secret');
  });

  it('rejects a value mapped to two parents (row 2, column 3)', () => {
    const e = catchError(() => parseArxHierarchy('secretA;Grp;*\nsecretB;Grp;Other\n'));
    expect(e.code).toBe('SLUICE_ERR_HIERARCHY_INVALID');
    expect(e.message).toMatch(/row 2 column 3/);
    expect(e.message).toMatch(/two parents/);
    expect(e.message).not.toMatch(/Grp|Other|secret/);
  });

  it('rejects a raw value listed twice and an empty cell', () => {
    expect(catchError(() => parseArxHierarchy('secretA;X;*\nsecretA;X;*\n')).message).toMatch(/row 2 column 1 repeats .* row 1/);
    expect(catchError(() => parseArxHierarchy('secretA;;*\n')).message).toMatch(/row 1 column 2 is empty/);
  });

  it('accepts a well-formed tree (negative control)', () => {
    expect(() => validateHierarchy({ rows: [['a', 'G', '*'], ['b', 'G', '*'], ['c', 'H', '*']], height: 3 })).not.toThrow();
  });
});

describe('built-in hierarchies', () => {
  it('age: 5, 10, 20-year bands, then *', () => {
    const h = ageHierarchy(['17', '23', '99']);
    expect(h.height).toBe(5);
    expect(h.rows).toContainEqual(['17', '15-19', '10-19', '0-19', '*']);
    expect(h.rows).toContainEqual(['99', '95-99', '90-99', '80-99', '*']);
    expect(catchError(() => ageHierarchy(['17', 'unknown'])).message).toMatch(/1 non-numeric/);
  });

  it('dates: day → month → quarter → year → *', () => {
    const h = dateHierarchy(['2024-05-17', '2023-12-31']);
    expect(h.rows).toContainEqual(['2024-05-17', '2024-05', '2024-Q2', '2024', '*']);
    expect(h.rows).toContainEqual(['2023-12-31', '2023-12', '2023-Q4', '2023', '*']);
    expect(catchError(() => dateHierarchy(['17/05/2024'])).code).toBe('SLUICE_ERR_HIERARCHY_INVALID');
  });

  it('area code: county → city → province → *', () => {
    const h = areaCodeHierarchy(['331002', '331081', '330102']);
    expect(h.rows).toContainEqual(['331002', '331000', '330000', '*']);
    expect(h.rows).toContainEqual(['330102', '330100', '330000', '*']);
    expect(catchError(() => areaCodeHierarchy(['33100'])).message).toMatch(/expected 6 digits/);
  });

  it('Taizhou addresses: house → community → street → county → city → *', () => {
    const a1 = '浙江省台州市椒江区白云街道东山社区12号';
    const a2 = '浙江省台州市临海市大洋街道柏叶社区3号';
    const h = addressHierarchy([a1, a2]);
    expect(h.height).toBe(6);
    expect(h.rows).toContainEqual([
      a1,
      '浙江省台州市椒江区白云街道东山社区',
      '浙江省台州市椒江区白云街道',
      '浙江省台州市椒江区',
      '浙江省台州市',
      '*',
    ]);
    expect(h.rows.find((r) => r[0] === a2)![3]).toBe('浙江省台州市临海市');
    const e = catchError(() => addressHierarchy(['台州某地']));
    expect(e.message).toMatch(/1 distinct value/);
    expect(e.message).not.toContain('台州某地');
  });

  it('numeric intervals nest and reject widths that do not', () => {
    const h = intervalHierarchy(['3', '27', '1.5'], [10, 50]);
    expect(h.rows).toContainEqual(['27', '[20, 30)', '[0, 50)', '*']);
    expect(catchError(() => intervalHierarchy(['1'], [10, 25])).message).toMatch(/multiple of widths\[0\]/);
  });

  it('ordered categories merge adjacent runs', () => {
    const order = ['none', 'primary', 'middle', 'high', 'college'];
    const h = orderedHierarchy(order, order, [2, 2]);
    expect(h.rows).toContainEqual(['middle', 'middle~high', 'none~high', '*']);
    expect(h.rows).toContainEqual(['college', 'college', 'college', '*']);
  });

  it('unordered categories: explicit groups then *; every value needs a group', () => {
    const h = unorderedHierarchy(['cat', 'dog', 'oak'], { animal: ['cat', 'dog'], plant: ['oak'] });
    expect(h.rows).toContainEqual(['oak', 'plant', '*']);
    expect(catchError(() => unorderedHierarchy(['cat', 'fern'], { animal: ['cat'] })).message).toMatch(/1 distinct value\(s\) belong to no group/);
  });
});

describe('leafOrder', () => {
  it('orders ages numerically and keeps every band contiguous', () => {
    const h = generated('age');
    const order = leafOrder(h);
    expect(order.map(Number)).toEqual([...order.map(Number)].sort((a, b) => a - b));
    expect(groupsContiguous(h, order)).toBe(true);
  });

  it('keeps every group contiguous on every Adult-like hierarchy', () => {
    for (const file of FILES) {
      const h = parseArxHierarchy(GENERATED[file]!);
      const order = leafOrder(h);
      expect(new Set(order).size).toBe(h.rows.length);
      expect(groupsContiguous(h, order)).toBe(true);
    }
  });

  it('a row order alone would split groups (positive control for the check)', () => {
    const h = generated('education');
    expect(groupsContiguous(h, h.rows.map((r) => r[0]!))).toBe(false);
  });

  it('keeps groups contiguous on random trees (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 40 }), (pairs) => {
        // leaf i → group g1 (level 1) → group g1 % 3 … parents are functions of the child, so this is a tree
        const rows = pairs.map(([g], i) => [`v${i}`, `g${g}`, `t${g % 3}`, '*']);
        const h: Hierarchy = { rows, height: 4 };
        return groupsContiguous(h, leafOrder(h));
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});
