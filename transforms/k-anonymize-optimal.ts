// Over 500 lines because the lattice search, its pruning and the exhaustive checker it is tested against stay side by side.
/**
 * Optimal full-domain generalization (global recoding) over the lattice of
 * hierarchy levels, with k-anonymity, ℓ-diversity and t-closeness and a
 * suppression limit, minimising ARX's Loss or discernibility.
 *
 * A level vector is *anonymous* when the records of the classes failing the
 * privacy models number at most ⌊limit · N⌋; those records are suppressed
 * (every quasi-identifier `*`). Among anonymous vectors the result minimises,
 * in this order: the metric value, the sum of levels, then the level vector
 * lexicographically (first quasi-identifier first). Both searches use this
 * order and the same metric arithmetic, so they return the same vector.
 *
 * The optimal search is exact. It prunes only by facts that hold with and
 * without suppression:
 * - Loss: a lower bound for a vector and all its generalizations is the Loss
 *   without suppression (suppression only raises a share to 1, and shares
 *   grow with the level); vectors are visited in increasing bound order and
 *   the search stops when the bound exceeds the best value found.
 * - Discernibility: Σ size² over all classes (failing ones too) is a lower
 *   bound for the vector (a suppressed record costs N ≥ its class size) and
 *   for every generalization (merging classes raises Σ size²); vectors are
 *   visited by level sum and inherit their predecessors' bound.
 * - Pair projections (Incognito's subset property): a class of the projection
 *   on two quasi-identifiers with fewer than k records consists of failing
 *   classes only, so its records are certainly suppressed; if they exceed the
 *   limit the vector is not anonymous, else they raise the Loss bound (each
 *   adds |D_a| − share to attribute a) and the discernibility bound (N each,
 *   kept records at least k each). Valid for every model (all require size ≥ k).
 * - Predictive tagging (Flash/OLA): when the models are monotone (all of
 *   them at limit 0; k-anonymity and distinct ℓ with suppression) an
 *   anonymous vector tags its generalizations anonymous; a non-anonymous one
 *   is first raised one attribute at a time while it stays non-anonymous, and
 *   the maximal non-anonymous vector reached tags all its specializations. At limit 0 a vector above an
 *   anonymous one cannot win (its metric is no lower and its level sum is
 *   higher) and is skipped.
 *
 * Data is dictionary encoded once (codes = hierarchy row index); each level
 * is a lookup table; classes are grouped by a mixed-radix integer key in an
 * open-addressing table and rolled up from an evaluated specialization's
 * classes instead of from the rows.
 */
import { SluiceError } from '../lib/errors.js';
import type { Hierarchy } from './hierarchy.js';
import { arxLoss, arxLossFactor, type LossAttribute } from './metrics.js';
import { classPredicate, monotoneWithSuppression, type PrivacyModels } from './privacy-models.js';

/** Dictionary-encoded input of the search. */
export interface AnonymizationData {
  /** Number of records. */
  n: number;
  /** Quasi-identifiers; `codes[r]` is the hierarchy row index of record r's value. */
  quasiIdentifiers: { name: string; codes: Int32Array; hierarchy: Hierarchy }[];
  /** Sensitive attributes; `codes[r]` indexes `values`, which are in ground order (for ordered t-closeness). */
  sensitive: { name: string; codes: Int32Array; values: string[] }[];
}

/** Search configuration: the privacy models plus the suppression limit and the metric. */
export interface KAnonymizeConfig extends PrivacyModels {
  /** Fraction of records that may be suppressed, 0..1. */
  suppressionLimit: number;
  /** What to minimise. */
  metric: 'loss' | 'discernibility';
}

/** Counters of a search. */
export interface SearchStats {
  /** Level vectors in the lattice. */
  nodes: number;
  /** Vectors whose classes were computed. */
  checked: number;
  /** Vectors decided without computing classes (tagging or bounds). */
  pruned: number;
  /** Wall-clock time of the search in ms. */
  ms: number;
}

/** The optimum of a search. */
export interface KAnonymizeResult {
  /** The chosen level per quasi-identifier, in data order. */
  levels: number[];
  metric: 'loss' | 'discernibility';
  /** The minimised metric's value. */
  value: number;
  /** Both metrics at the optimum. */
  loss: number;
  discernibility: number;
  /** Records suppressed, and which (1 = suppressed), by record index. */
  suppressed: number;
  suppressedRows: Uint8Array;
  /** Classes of kept records: their number and sizes. */
  classes: { count: number; sizes: Int32Array };
  stats: SearchStats;
}

/**
 * Dictionary-encodes columns for the search. `columns` maps a column name to
 * its values (all the same length). Quasi-identifier values must appear in
 * column 1 of their hierarchy; sensitive values are ordered numerically when
 * all are numbers, else by code unit order.
 */
export function encodeData(
  columns: Record<string, readonly string[]>,
  spec: { quasiIdentifiers: { column: string; hierarchy: Hierarchy }[]; sensitive?: string[] },
): AnonymizationData {
  const names = [...spec.quasiIdentifiers.map((q) => q.column), ...(spec.sensitive ?? [])];
  let n = -1;
  for (const name of names) {
    const col = columns[name];
    if (col === undefined) throw new SluiceError('SLUICE_ERR_DATA_INVALID', `column ${name}: expected in the input, found no such column`);
    if (n >= 0 && col.length !== n) {
      throw new SluiceError('SLUICE_ERR_DATA_INVALID', `column ${name}: expected ${n} values, found ${col.length}`);
    }
    n = col.length;
  }
  if (n <= 0) throw new SluiceError('SLUICE_ERR_DATA_INVALID', `input: expected at least one record and one quasi-identifier, found ${Math.max(n, 0)} records`);
  const quasiIdentifiers = spec.quasiIdentifiers.map(({ column, hierarchy }) => {
    const index = new Map<string, number>();
    hierarchy.rows.forEach((row, i) => index.set(row[0]!, i));
    const col = columns[column]!;
    const codes = new Int32Array(n);
    const missing = new Set<string>();
    for (let r = 0; r < n; r++) {
      const c = index.get(col[r]!);
      if (c === undefined) missing.add(col[r]!);
      else codes[r] = c;
    }
    if (missing.size > 0) {
      throw new SluiceError(
        'SLUICE_ERR_HIERARCHY_INVALID',
        `column ${column}: ${missing.size} distinct value(s) of the data are not in column 1 of its hierarchy`,
        { details: { column, count: missing.size } },
      );
    }
    return { name: column, codes, hierarchy };
  });
  const sensitive = (spec.sensitive ?? []).map((name) => {
    const col = columns[name]!;
    const values = [...new Set(col)];
    const numeric = values.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
    values.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const index = new Map(values.map((v, i) => [v, i]));
    const codes = new Int32Array(n);
    for (let r = 0; r < n; r++) codes[r] = index.get(col[r]!)!;
    return { name, codes, values };
  });
  return { n, quasiIdentifiers, sensitive };
}

/** Classes of one level vector: sizes, a representative record, the group key and sensitive histograms. */
interface ClassSet {
  count: number;
  sizes: Int32Array;
  reps: Int32Array;
  keys: Float64Array;
  hist: Int32Array | null;
}

/** The outcome of checking one level vector. */
interface NodeEval {
  anonymous: boolean;
  failing: number;
  /** Σ size² over every class, failing ones included. */
  dmAll: number;
  value: number;
  loss: number;
  dm: number;
}

const EMPTY = -1;
/** Largest lattice (product of hierarchy heights) the full-domain searches accept. */
const MAX_LATTICE = 2_000_000;

/** What a search derives from the data alone, kept per encoded data object so repeated searches skip it. */
interface Prepared {
  maps: Int32Array[][];
  shares: Int32Array[][];
  total: number[][];
  lossFactors: number[][];
  radix: number[];
  strides: number[];
  size: number;
  levelTable: Uint8Array;
  /** Distinct records, by histogram width (0 = no histograms). */
  bottoms: Map<number, { set: ClassSet; rowClass: Int32Array }>;
  /** Pair-projection bounds by k. */
  pairs: Map<number, PairBound[]>;
  /** Vectors in Loss-bound order and their bounds. */
  lossOrder?: { order: Int32Array; bound: Float64Array };
}

interface PairBound {
  a: number;
  b: number;
  hb: number;
  fail: Float64Array;
  exA: Float64Array;
  exB: Float64Array;
}

/**
 * Derived data is cached per AnonymizationData object (a WeakMap, so it goes
 * with the data): the encoded arrays must not be modified after a search.
 */
const PREPARED = new WeakMap<AnonymizationData, Prepared>();

function prepare(data: AnonymizationData): Prepared {
  const n = data.n;
  const d = data.quasiIdentifiers.length;
  const heights = data.quasiIdentifiers.map((q) => q.hierarchy.height);
  const domain = data.quasiIdentifiers.map((q) => q.hierarchy.rows.length);
    const maps: Int32Array[][] = [];
    const shares: Int32Array[][] = [];
    const total: number[][] = [];
    for (const q of data.quasiIdentifiers) {
      const h = q.hierarchy;
      const lm: Int32Array[] = [];
      const ls: Int32Array[] = [];
      const lt: number[] = [];
      const leafCounts = new Int32Array(h.rows.length);
      for (let r = 0; r < n; r++) leafCounts[q.codes[r]!]!++;
      for (let l = 0; l < h.height; l++) {
        const ids = new Map<string, number>();
        const map = new Int32Array(h.rows.length);
        h.rows.forEach((row, i) => {
          let g = ids.get(row[l]!);
          if (g === undefined) ids.set(row[l]!, (g = ids.size));
          map[i] = g;
        });
        const share = new Int32Array(ids.size);
        for (let i = 0; i < map.length; i++) share[map[i]!]!++;
        let t = 0;
        for (let i = 0; i < map.length; i++) t += leafCounts[i]! * share[map[i]!]!;
        lm.push(map);
        ls.push(share);
        lt.push(t);
      }
      maps.push(lm);
      shares.push(ls);
      total.push(lt);
    }
    const lossFactors = total.map((lt, a) =>
      lt.map((t) => arxLossFactor(n, { domainSize: domain[a]!, shareNumerator: t }, d)),
    );
    const radix: number[] = [];
    let r = 1;
    for (let a = 0; a < d; a++) {
      radix.push(r);
      r *= domain[a]!;
    }
    if (r > Number.MAX_SAFE_INTEGER) {
      throw new SluiceError(
        'SLUICE_ERR_TRANSFORM_INVALID',
        `quasi-identifiers: the product of hierarchy sizes must be at most 2^53 for exact grouping, found about 2^${Math.round(Math.log2(r))}`,
      );
    }
    const strides: number[] = [];
    let s = 1;
    for (let a = d - 1; a >= 0; a--) {
      strides[a] = s;
      s *= heights[a]!;
    }
    if (s > MAX_LATTICE) {
      throw new SluiceError(
        'SLUICE_ERR_TRANSFORM_INVALID',
        `quasiIdentifiers: the lattice of hierarchy levels has ${s} vectors, expected at most ${MAX_LATTICE} for a full-domain search (use mondrian or fewer levels)`,
      );
    }
        const levelTable = new Uint8Array(s * d);
    for (let v = 0; v < s; v++) {
      for (let a = 0; a < d; a++) levelTable[v * d + a] = Math.floor(v / strides[a]!) % heights[a]!;
    }
  return { maps, shares, total, lossFactors, radix, strides, size: s, levelTable, bottoms: new Map(), pairs: new Map() };
}

/** The lattice, the lookup tables and the evaluator shared by both searches. */
class Lattice {
  readonly n: number;
  readonly d: number;
  readonly heights: number[];
  /** maps[a][l][leaf] = group code at level l. */
  readonly maps: Int32Array[][];
  /** shares[a][l][group] = hierarchy rows in that group. */
  readonly shares: Int32Array[][];
  /** total[a][l] = Σ over records of shares[a][l][group of record]. */
  readonly total: number[][];
  readonly domain: number[];
  /** lossFactors[a][l] = (L_a + 1)^(1/d) without suppression. */
  readonly lossFactors: number[][];
  readonly radix: number[];
  readonly strides: number[];
  readonly size: number;
  /** levelTable[node · d + a] = level of attribute a in node. */
  readonly levelTable: Uint8Array;
  readonly codes: Int32Array[];
  readonly m: number;
  readonly sensCodes: Int32Array[];
  readonly sensOffsets: number[];
  readonly globals: Int32Array[];
  readonly maxSuppressed: number;
  readonly kOnly: boolean;
  readonly k: number;
  readonly pass: (size: number, hist: ArrayLike<number>, offset: number) => boolean;
  readonly metric: 'loss' | 'discernibility';
  readonly bottom: ClassSet;
  readonly rowClass: Int32Array;
  private table: Float64Array;
  private slots: Int32Array;
  private failed = new Int32Array(0);
  private readonly prepared: Prepared;
  private pairs: PairBound[] = [];
  private scratchSizes = new Int32Array(0);
  private scratchReps = new Int32Array(0);
  private scratchKeys = new Float64Array(0);

  constructor(data: AnonymizationData, config: KAnonymizeConfig) {
    validateConfig(data, config);
    this.n = data.n;
    this.d = data.quasiIdentifiers.length;
    this.metric = config.metric;
    this.k = config.k;
    this.codes = data.quasiIdentifiers.map((q) => q.codes);
    this.heights = data.quasiIdentifiers.map((q) => q.hierarchy.height);
    this.domain = data.quasiIdentifiers.map((q) => q.hierarchy.rows.length);
    let st = PREPARED.get(data);
    if (st === undefined) {
      st = prepare(data);
      PREPARED.set(data, st);
    }
    this.prepared = st;
    this.maps = st.maps;
    this.shares = st.shares;
    this.total = st.total;
    this.lossFactors = st.lossFactors;
    this.radix = st.radix;
    this.strides = st.strides;
    this.size = st.size;
    this.levelTable = st.levelTable;
    this.sensCodes = data.sensitive.map((x) => x.codes);
    this.sensOffsets = [];
    let m = 0;
    for (const x of data.sensitive) {
      this.sensOffsets.push(m);
      m += x.values.length;
    }
    const needsHist = config.l !== undefined || config.t !== undefined;
    this.m = needsHist ? m : 0;
    this.globals = data.sensitive.map((x) => {
      const g = new Int32Array(x.values.length);
      for (let i = 0; i < this.n; i++) g[x.codes[i]!]!++;
      return g;
    });
    this.kOnly = !needsHist;
    this.pass = classPredicate(config, this.globals, this.sensOffsets);
    // a tiny epsilon so that e.g. 0.05 · 30162 is not lost to rounding below the integer
    this.maxSuppressed = Math.floor(config.suppressionLimit * this.n + 1e-9);
    this.table = new Float64Array(0);
    this.slots = new Int32Array(0);
    let base = st.bottoms.get(this.m);
    if (base === undefined) {
      base = this.groupRows();
      st.bottoms.set(this.m, base);
    }
    this.bottom = base.set;
    this.rowClass = base.rowClass;
  }

  levelsOf(node: number): number[] {
    const out: number[] = [];
    for (let a = 0; a < this.d; a++) out.push(Math.floor(node / this.strides[a]!) % this.heights[a]!);
    return out;
  }

  levelOf(node: number, a: number): number {
    return this.levelTable[node * this.d + a]!;
  }

  levelSum(node: number): number {
    let s = 0;
    for (let a = 0; a < this.d; a++) s += this.levelOf(node, a);
    return s;
  }

  /** Every vector in increasing order of its Loss without suppression (ties: level sum, then lexicographic), and those bounds. */
  lossOrder(): { order: Int32Array; bound: Float64Array } {
    if (this.prepared.lossOrder !== undefined) return this.prepared.lossOrder;
    const size = this.size;
    const bound = new Float64Array(size);
    const sums = new Int32Array(size);
    for (let v = 0; v < size; v++) {
      bound[v] = this.lossWithoutSuppression(v);
      sums[v] = this.levelSum(v);
    }
    const order = Int32Array.from(
      Array.from({ length: size }, (_, i) => i).sort((x, y) => bound[x]! - bound[y]! || sums[x]! - sums[y]! || lexCompare(this, x, y)),
    );
    this.prepared.lossOrder = { order, bound };
    return this.prepared.lossOrder;
  }

  /** Lower bound (and exact value without suppression) of Loss at a node. */
  lossWithoutSuppression(node: number): number {
    // the same factors multiplied in the same order as arxLoss, so the value is bit-identical
    let prod = 1;
    for (let a = 0; a < this.d; a++) prod *= this.lossFactors[a]![this.levelOf(node, a)]!;
    return prod - 1;
  }

  private ensureTable(capacityFor: number): number {
    let cap = 16;
    while (cap < capacityFor * 2) cap *= 2;
    if (this.table.length < cap) {
      this.table = new Float64Array(cap);
      this.slots = new Int32Array(cap);
    }
    this.slots.fill(EMPTY, 0, cap);
    return cap - 1;
  }

  private groupRows(): { set: ClassSet; rowClass: Int32Array } {
    const n = this.n;
    const mask = this.ensureTable(n);
    const table = this.table;
    const slots = this.slots;
    const sizes = new Int32Array(n);
    const reps = new Int32Array(n);
    const keys = new Float64Array(n);
    const rowClass = new Int32Array(n);
    const m = this.m;
    let count = 0;
    for (let r = 0; r < n; r++) {
      let key = 0;
      for (let a = 0; a < this.d; a++) key += this.codes[a]![r]! * this.radix[a]!;
      let h = hashKey(key) & mask;
      let id: number;
      for (;;) {
        const s = slots[h]!;
        if (s === EMPTY) {
          id = count++;
          slots[h] = id;
          table[h] = key;
          keys[id] = key;
          reps[id] = r;
          break;
        }
        if (table[h] === key) {
          id = s;
          break;
        }
        h = (h + 1) & mask;
      }
      sizes[id]!++;
      rowClass[r] = id;
    }
    let hist: Int32Array | null = null;
    if (m > 0) {
      hist = new Int32Array(count * m);
      for (let r = 0; r < n; r++) {
        const base = rowClass[r]! * m;
        for (let s = 0; s < this.sensCodes.length; s++) hist[base + this.sensOffsets[s]! + this.sensCodes[s]![r]!]!++;
      }
    }
    return { set: { count, sizes: sizes.slice(0, count), reps: reps.slice(0, count), keys: keys.slice(0, count), hist }, rowClass };
  }

  /**
   * Groups the classes of `src` (a specialization of `node`) into the classes
   * of `node`. `srcNode` lets the key change only in the attributes that
   * differ. `assign`, when given, receives for each source class its new class.
   */
  rollUp(src: ClassSet, srcNode: number, node: number, assign?: Int32Array): ClassSet {
    const d = this.d;
    const changed: number[] = [];
    const fromMaps: Int32Array[] = [];
    const toMaps: Int32Array[] = [];
    const codes: Int32Array[] = [];
    const radix: number[] = [];
    for (let a = 0; a < d; a++) {
      const lf = this.levelOf(srcNode, a);
      const lt = this.levelOf(node, a);
      if (lf !== lt) {
        changed.push(a);
        fromMaps.push(this.maps[a]![lf]!);
        toMaps.push(this.maps[a]![lt]!);
        codes.push(this.codes[a]!);
        radix.push(this.radix[a]!);
      }
    }
    const nc = changed.length;
    const cnt = src.count;
    const mask = this.ensureTable(cnt);
    const table = this.table;
    const slots = this.slots;
    if (this.scratchSizes.length < cnt) {
      this.scratchSizes = new Int32Array(this.bottom.count);
      this.scratchReps = new Int32Array(this.bottom.count);
      this.scratchKeys = new Float64Array(this.bottom.count);
    }
    const sizes = this.scratchSizes;
    const reps = this.scratchReps;
    const keys = this.scratchKeys;
    const m = this.m;
    const srcHist = src.hist;
    const hist = m > 0 ? new Int32Array(cnt * m) : null;
    const sSizes = src.sizes;
    const sReps = src.reps;
    const sKeys = src.keys;
    let count = 0;
    // the common case (a tree parent, a climb step) changes one attribute: keep it in locals
    const code0 = nc > 0 ? codes[0]! : sReps;
    const to0 = nc > 0 ? toMaps[0]! : sReps;
    const from0 = nc > 0 ? fromMaps[0]! : sReps;
    const radix0 = nc > 0 ? radix[0]! : 0;
    for (let c = 0; c < cnt; c++) {
      const rep = sReps[c]!;
      let key = sKeys[c]!;
      if (nc > 0) {
        const leaf = code0[rep]!;
        key += (to0[leaf]! - from0[leaf]!) * radix0;
        for (let j = 1; j < nc; j++) {
          const lf = codes[j]![rep]!;
          key += (toMaps[j]![lf]! - fromMaps[j]![lf]!) * radix[j]!;
        }
      }
      let h = hashKey(key) & mask;
      let id: number;
      for (;;) {
        const s = slots[h]!;
        if (s === EMPTY) {
          id = count++;
          slots[h] = id;
          table[h] = key;
          keys[id] = key;
          reps[id] = rep;
          // the scratch buffers are reused, so a new class starts from zero here
          sizes[id] = 0;
          break;
        }
        if (table[h] === key) {
          id = s;
          break;
        }
        h = (h + 1) & mask;
      }
      sizes[id]! += sSizes[c]!;
      if (assign !== undefined) assign[c] = id;
      if (hist !== null && srcHist !== null) {
        const to = id * m;
        const from = c * m;
        for (let i = 0; i < m; i++) hist[to + i]! += srcHist[from + i]!;
      }
    }
    return {
      count,
      sizes: sizes.slice(0, count),
      reps: reps.slice(0, count),
      keys: keys.slice(0, count),
      hist: hist === null ? null : hist.slice(0, count * m),
    };
  }

  /** Checks the models on a node's classes and computes its metric. */
  evaluate(set: ClassSet, node: number): NodeEval {
    const sizes = set.sizes;
    const hist = set.hist;
    const m = this.m;
    const k = this.k;
    if (this.failed.length < set.count) this.failed = new Int32Array(this.bottom.count);
    const failed = this.failed;
    let nFailed = 0;
    let failing = 0;
    let dmAll = 0;
    let dmFail = 0;
    for (let c = 0; c < set.count; c++) {
      const s = sizes[c]!;
      dmAll += s * s;
      const ok = this.kOnly ? s >= k : this.pass(s, hist!, c * m);
      if (!ok) {
        failing += s;
        dmFail += s * s;
        failed[nFailed++] = c;
      }
    }
    const anonymous = failing <= this.maxSuppressed;
    if (!anonymous) return { anonymous, failing, dmAll, value: Infinity, loss: Infinity, dm: Infinity };
    const dm = dmAll - dmFail + failing * this.n;
    const attrs: LossAttribute[] = [];
    for (let a = 0; a < this.d; a++) {
      const l = this.levelOf(node, a);
      // suppressed records count a share of 1 instead of their group's share
      let num = this.total[a]![l]!;
      const map = this.maps[a]![l]!;
      const share = this.shares[a]![l]!;
      const codes = this.codes[a]!;
      const dom = this.domain[a]!;
      for (let i = 0; i < nFailed; i++) {
        const c = failed[i]!;
        num += sizes[c]! * (dom - share[map[codes[set.reps[c]!]!]!]!);
      }
      attrs.push({ domainSize: dom, shareNumerator: num });
    }
    const loss = arxLoss(this.n, attrs);
    return { anonymous, failing, dmAll, value: this.metric === 'loss' ? loss : dm, loss, dm };
  }

  /** Orders candidates: metric, then level sum, then levels lexicographically. */
  better(value: number, node: number, bestValue: number, bestNode: number): boolean {
    if (value !== bestValue) return value < bestValue;
    const sa = this.levelSum(node);
    const sb = this.levelSum(bestNode);
    if (sa !== sb) return sa < sb;
    for (let a = 0; a < this.d; a++) {
      const x = this.levelOf(node, a);
      const y = this.levelOf(bestNode, a);
      if (x !== y) return x < y;
    }
    return false;
  }

  /** Builds the result for the chosen node. */
  result(node: number, checked: number, t0: number): KAnonymizeResult {
    const assign = new Int32Array(this.bottom.count);
    const set = this.rollUp(this.bottom, 0, node, assign);
    const ev = this.evaluate(set, node);
    const failed = new Uint8Array(set.count);
    const keptSizes: number[] = [];
    for (let c = 0; c < set.count; c++) {
      const s = set.sizes[c]!;
      const ok = this.kOnly ? s >= this.k : this.pass(s, set.hist!, c * this.m);
      if (ok) keptSizes.push(s);
      else failed[c] = 1;
    }
    const suppressedRows = new Uint8Array(this.n);
    for (let r = 0; r < this.n; r++) suppressedRows[r] = failed[assign[this.rowClass[r]!]!]!;
    const ms = performance.now() - t0;
    return {
      levels: this.levelsOf(node),
      metric: this.metric,
      value: ev.value,
      loss: ev.loss,
      discernibility: ev.dm,
      suppressed: ev.failing,
      suppressedRows,
      classes: { count: keptSizes.length, sizes: Int32Array.from(keptSizes) },
      stats: { nodes: this.size, checked, pruned: this.size - checked, ms },
    };
  }

  /**
   * Pair projections (Incognito's subset property, extended to suppression):
   * a class of a projection on two quasi-identifiers is a union of the node's
   * classes, so when it has fewer than k records all of them fail every model
   * and are suppressed. For each pair and level pair this stores the records
   * of such classes and what their suppression adds to each attribute's Loss
   * numerator; both are sound lower bounds for any node with those levels.
   */
  buildPairBounds(): void {
    const cached = this.prepared.pairs.get(this.k);
    if (cached !== undefined) {
      this.pairs = cached;
      return;
    }
    const d = this.d;
    this.pairs = [];
    this.prepared.pairs.set(this.k, this.pairs);
    for (let a = 0; a < d; a++) {
      for (let b = a + 1; b < d; b++) {
        const da = this.domain[a]!;
        const db = this.domain[b]!;
        const base = new Int32Array(da * db);
        const ca = this.codes[a]!;
        const cb = this.codes[b]!;
        // from the distinct records rather than every record: fewer entries, same counts
        const { count: nb, sizes: bs, reps: br } = this.bottom;
        for (let c = 0; c < nb; c++) base[ca[br[c]!]! * db + cb[br[c]!]!]! += bs[c]!;
        const nzA: number[] = [];
        const nzB: number[] = [];
        const nzC: number[] = [];
        for (let i = 0; i < base.length; i++) {
          if (base[i]! > 0) {
            nzA.push(Math.floor(i / db));
            nzB.push(i % db);
            nzC.push(base[i]!);
          }
        }
        const ha = this.heights[a]!;
        const hb = this.heights[b]!;
        const fail = new Float64Array(ha * hb);
        const exA = new Float64Array(ha * hb);
        const exB = new Float64Array(ha * hb);
        let cnt = new Int32Array(0);
        for (let la = 0; la < ha; la++) {
          const mapA = this.maps[a]![la]!;
          const shareA = this.shares[a]![la]!;
          for (let lb = 0; lb < hb; lb++) {
            const mapB = this.maps[b]![lb]!;
            const shareB = this.shares[b]![lb]!;
            const cardB = shareB.length;
            const cells = shareA.length * cardB;
            if (cnt.length < cells) cnt = new Int32Array(cells);
            else cnt.fill(0, 0, cells);
            for (let i = 0; i < nzC.length; i++) cnt[mapA[nzA[i]!]! * cardB + mapB[nzB[i]!]!]! += nzC[i]!;
            let f = 0;
            let xa = 0;
            let xb = 0;
            for (let i = 0; i < nzC.length; i++) {
              const ga = mapA[nzA[i]!]!;
              const gb = mapB[nzB[i]!]!;
              if (cnt[ga * cardB + gb]! < this.k) {
                const c = nzC[i]!;
                f += c;
                xa += c * (this.domain[a]! - shareA[ga]!);
                xb += c * (this.domain[b]! - shareB[gb]!);
              }
            }
            fail[la * hb + lb] = f;
            exA[la * hb + lb] = xa;
            exB[la * hb + lb] = xb;
          }
        }
        this.pairs.push({ a, b, hb, fail, exA, exB });
      }
    }
  }

  /**
   * Lower bounds at a node from the pair projections: the records certainly
   * suppressed (`Infinity` when more than the limit: the node is not
   * anonymous), and the Loss with that suppression counted per attribute.
   */
  pairBound(node: number, extra: Float64Array, withLoss: boolean): { suppressed: number; loss: number } {
    extra.fill(0);
    let sup = 0;
    const base = node * this.d;
    const lv = this.levelTable;
    for (const p of this.pairs) {
      const i = lv[base + p.a]! * p.hb + lv[base + p.b]!;
      const f = p.fail[i]!;
      if (f > this.maxSuppressed) return { suppressed: Infinity, loss: Infinity };
      if (f > sup) sup = f;
      if (p.exA[i]! > extra[p.a]!) extra[p.a] = p.exA[i]!;
      if (p.exB[i]! > extra[p.b]!) extra[p.b] = p.exB[i]!;
    }
    if (!withLoss) return { suppressed: sup, loss: 0 };
    let prod = 1;
    for (let a = 0; a < this.d; a++) {
      const l = this.levelOf(node, a);
      prod *= extra[a] === 0 ? this.lossFactors[a]![l]! : arxLossFactor(this.n, { domainSize: this.domain[a]!, shareNumerator: this.total[a]![l]! + extra[a]! }, this.d);
    }
    return { suppressed: sup, loss: prod - 1 };
  }

  unsatisfiable(config: KAnonymizeConfig): SluiceError {
    const models = [`k=${config.k}`];
    if (config.l) models.push(`${config.l.variant} l=${config.l.l}`);
    if (config.t) models.push(`${config.t.variant} t=${config.t.t}`);
    return new SluiceError(
      'SLUICE_ERR_ANON_UNSATISFIABLE',
      `no generalization of the ${this.d} quasi-identifiers satisfies ${models.join(', ')} with at most ${this.maxSuppressed} of ${this.n} records suppressed`,
      { details: { quasiIdentifiers: this.d, records: this.n, maxSuppressed: this.maxSuppressed } },
    );
  }
}

function hashKey(key: number): number {
  const lo = key >>> 0;
  const hi = (key * 2.3283064365386963e-10) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 13)) >>> 0;
}

function validateConfig(data: AnonymizationData, c: KAnonymizeConfig): void {
  const bad = (path: string, expected: string, found: string): SluiceError =>
    new SluiceError('SLUICE_ERR_ANON_CONFIG_INVALID', `${path}: expected ${expected}, found ${found}`);
  if (!Number.isInteger(c.k) || c.k < 1) throw bad('k', 'an integer ≥ 1', String(c.k));
  if (!(c.suppressionLimit >= 0 && c.suppressionLimit <= 1)) throw bad('suppressionLimit', 'a number in 0..1', String(c.suppressionLimit));
  if (c.metric !== 'loss' && c.metric !== 'discernibility') throw bad('metric', "'loss' or 'discernibility'", typeof c.metric);
  if ((c.l !== undefined || c.t !== undefined) && data.sensitive.length === 0) {
    throw bad('sensitive', 'at least one sensitive column for l-diversity or t-closeness', '0');
  }
  if (c.l !== undefined && !(c.l.l >= 1)) throw bad('l.l', 'a number ≥ 1', String(c.l.l));
  if (c.l?.variant === 'recursive' && !(c.l.c !== undefined && c.l.c > 0)) throw bad('l.c', 'a number > 0 for recursive (c,l)-diversity', String(c.l.c));
  if (c.t !== undefined && !(c.t.t >= 0 && c.t.t <= 1)) throw bad('t.t', 'a number in 0..1', String(c.t.t));
  if (data.quasiIdentifiers.length === 0) throw bad('quasiIdentifiers', 'at least one', '0');
}

/** Marks a node and its generalizations (value 1) or specializations (value -1), stopping at nodes already marked. */
function tag(lat: Lattice, tags: Int8Array, start: number, value: 1 | -1): void {
  const stack = [start];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (tags[node] === value) continue;
    tags[node] = value;
    for (let a = 0; a < lat.d; a++) {
      const l = lat.levelOf(node, a);
      if (value === 1 && l + 1 < lat.heights[a]!) stack.push(node + lat.strides[a]!);
      if (value === -1 && l > 0) stack.push(node - lat.strides[a]!);
    }
  }
}

/**
 * Evaluates every level vector (depth first over a spanning tree of the
 * lattice, rolling each vector's classes up from its tree parent's) and returns
 * the optimum under the order documented at the top of this file. The
 * reference the optimal search is tested against. Throws
 * SLUICE_ERR_ANON_UNSATISFIABLE when no vector is anonymous.
 */
export function exhaustiveKAnonymize(data: AnonymizationData, config: KAnonymizeConfig): KAnonymizeResult {
  const t0 = performance.now();
  const lat = new Lattice(data, config);
  let bestNode = -1;
  let bestValue = Infinity;
  let checked = 0;
  const consider = (set: ClassSet, node: number): void => {
    checked++;
    const ev = lat.evaluate(set, node);
    if (ev.anonymous && (bestNode < 0 || lat.better(ev.value, node, bestValue, bestNode))) {
      bestNode = node;
      bestValue = ev.value;
    }
  };
  // tree parent of a node = the node with its last non-zero level lowered by one
  const visit = (set: ClassSet, node: number, from: number): void => {
    consider(set, node);
    for (let a = from; a < lat.d; a++) {
      if (lat.levelOf(node, a) + 1 < lat.heights[a]!) {
        const child = node + lat.strides[a]!;
        visit(lat.rollUp(set, node, child), child, a);
      }
    }
  };
  visit(lat.bottom, 0, 0);
  if (bestNode < 0) throw lat.unsatisfiable(config);
  return lat.result(bestNode, checked, t0);
}

/** Budget of cached class sets, in classes (each costs ~20 bytes plus histograms). */
const CACHE_CLASSES = 2_000_000;
/** At most this many cached class sets (a source is looked for among all of them). */
const CACHE_ENTRIES = 1024;

/**
 * The optimal search: returns exactly the optimum {@link exhaustiveKAnonymize}
 * returns (same level vector and metric value) while checking far fewer
 * vectors, by the bounds and tagging described at the top of this file.
 * Throws SLUICE_ERR_ANON_UNSATISFIABLE when no vector is anonymous.
 */
export function optimalKAnonymize(data: AnonymizationData, config: KAnonymizeConfig): KAnonymizeResult {
  const t0 = performance.now();
  const lat = new Lattice(data, config);
  const size = lat.size;
  const monotone = config.suppressionLimit === 0 || monotoneWithSuppression(config);
  const noSuppression = lat.maxSuppressed === 0;
  const tags = new Int8Array(size);
  const extra = new Float64Array(lat.d);
  const cache = new Map<number, ClassSet>();
  let cached = 0;
  let checked = 0;
  let bestNode = -1;
  let bestValue = Infinity;

  const sourceFor = (node: number): { set: ClassSet; node: number } => {
    let best: { set: ClassSet; node: number } = { set: lat.bottom, node: 0 };
    for (let a = 0; a < lat.d; a++) {
      if (lat.levelOf(node, a) === 0) continue;
      const p = node - lat.strides[a]!;
      const s = cache.get(p);
      if (s !== undefined && s.count < best.set.count) best = { set: s, node: p };
    }
    if (best.node === 0 && node !== 0) {
      for (const [p, s] of cache) {
        if (s.count >= best.set.count) continue;
        let below = true;
        for (let a = 0; a < lat.d && below; a++) below = lat.levelOf(p, a) <= lat.levelOf(node, a);
        if (below) best = { set: s, node: p };
      }
    }
    return best;
  };
  const remember = (node: number, set: ClassSet): void => {
    cache.set(node, set);
    cached += set.count;
    // evict oldest first: traversal order makes recent nodes the likeliest sources
    for (const [p, s] of cache) {
      if (cached <= CACHE_CLASSES && cache.size <= CACHE_ENTRIES) break;
      cache.delete(p);
      cached -= s.count;
    }
  };
  const check = (node: number): NodeEval => {
    const src = sourceFor(node);
    const set = lat.rollUp(src.set, src.node, node);
    checked++;
    const ev = lat.evaluate(set, node);
    remember(node, set);
    if (!monotone) return ev;
    if (ev.anonymous) tag(lat, tags, node, 1);
    else climb(node, set);
    return ev;
  };
  // From a non-anonymous vector, raise one attribute at a time while the result
  // stays non-anonymous; the vector reached is maximal non-anonymous and tags its
  // whole down-set at once (Flash-style), while each failed raise tags an up-set.
  const climb = (start: number, startSet: ClassSet): void => {
    let cur = start;
    // classes are materialized lazily: vectors known non-anonymous (tagged, or by a pair projection) need none
    let set = startSet;
    let setNode = start;
    for (let a = 0; a < lat.d; a++) {
      while (lat.levelOf(cur, a) + 1 < lat.heights[a]!) {
        const next = cur + lat.strides[a]!;
        if (tags[next] === 1) break;
        if (tags[next] === -1 || lat.pairBound(next, extra, false).suppressed === Infinity) {
          cur = next;
          continue;
        }
        const nextSet = lat.rollUp(set, setNode, next);
        checked++;
        const ev = lat.evaluate(nextSet, next);
        remember(next, nextSet);
        if (ev.anonymous) {
          tag(lat, tags, next, 1);
          offer(next, ev.value);
          break;
        }
        cur = next;
        set = nextSet;
        setNode = next;
      }
    }
    tag(lat, tags, cur, -1);
  };
  const offer = (node: number, value: number): void => {
    if (bestNode < 0 || lat.better(value, node, bestValue, bestNode)) {
      bestNode = node;
      bestValue = value;
    }
  };

  lat.buildPairBounds();
  if (config.metric === 'loss') {
    const { bound, order: sorted } = lat.lossOrder();
    for (const v of sorted) {
      if (bestNode >= 0) {
        if (bound[v]! > bestValue) break;
        if (!lat.better(bound[v]!, v, bestValue, bestNode)) continue;
      }
      if (tags[v] === -1) continue;
      if (tags[v] !== 1 || !noSuppression) {
        const pb = lat.pairBound(v, extra, bestNode >= 0);
        if (pb.suppressed === Infinity) continue;
        if (bestNode >= 0 && !lat.better(pb.loss, v, bestValue, bestNode)) continue;
      }
      if (tags[v] === 1 && noSuppression) {
        // anonymous with nothing to suppress: the bound is the exact value
        offer(v, bound[v]!);
        continue;
      }
      const ev = check(v);
      if (ev.anonymous) offer(v, ev.value);
    }
  } else {
    // discernibility: visit by level sum so every predecessor's bound is known first
    const sums = new Int32Array(size);
    for (let v = 0; v < size; v++) sums[v] = lat.levelSum(v);
    const sorted = Array.from({ length: size }, (_, i) => i).sort((x, y) => sums[x]! - sums[y]! || lexCompare(lat, x, y));
    const bound = new Float64Array(size);
    for (const v of sorted) {
      let b = bound[v]!;
      for (let a = 0; a < lat.d; a++) {
        if (lat.levelOf(v, a) === 0) continue;
        const p = bound[v - lat.strides[a]!]!;
        if (p > b) b = p;
      }
      bound[v] = b;
      // every later vector has a larger level sum or lexicographic rank, so an equal bound cannot win
      if (bestNode >= 0 && b >= bestValue) continue;
      if (tags[v] === -1) continue;
      if (tags[v] === 1 && noSuppression) continue;
      const pb = lat.pairBound(v, extra, false);
      if (pb.suppressed === Infinity) continue;
      // kept records cost at least k each, suppressed ones N
      const dmBound = Math.max(b, (lat.n - pb.suppressed) * Math.min(config.k, lat.n) + pb.suppressed * lat.n);
      if (bestNode >= 0 && dmBound >= bestValue) continue;
      const ev = check(v);
      if (ev.dmAll > bound[v]!) bound[v] = ev.dmAll;
      if (ev.anonymous) offer(v, ev.value);
    }
  }
  if (bestNode < 0) throw lat.unsatisfiable(config);
  return lat.result(bestNode, checked, t0);
}

/** Node ids are mixed-radix with the first quasi-identifier most significant, so id order is lexicographic order. */
function lexCompare(_lat: Lattice, x: number, y: number): number {
  return x - y;
}

/** What {@link applyGeneralization} changed. */
export interface GeneralizationReport {
  /** Records suppressed (every quasi-identifier `*`). */
  suppressedRecords: number;
  /** Per quasi-identifier: the level applied, the hierarchy height, and how many kept records' values changed. */
  columns: Record<string, { level: number; height: number; generalized: number; suppressed: number }>;
}

/**
 * Generalizes every quasi-identifier to `levels[a]` and writes `*` in every
 * quasi-identifier of the records flagged in `suppressed` (1 = suppress).
 * Returns the new string columns (quasi-identifiers only) and a report of counts.
 */
export function applyGeneralization(
  data: AnonymizationData,
  levels: readonly number[],
  suppressed: Uint8Array,
): { columns: Record<string, string[]>; report: GeneralizationReport } {
  if (levels.length !== data.quasiIdentifiers.length) {
    throw new SluiceError('SLUICE_ERR_TRANSFORM_INVALID', `levels: expected ${data.quasiIdentifiers.length} entries, found ${levels.length}`);
  }
  const columns: Record<string, string[]> = {};
  const report: GeneralizationReport = { suppressedRecords: 0, columns: {} };
  for (let r = 0; r < data.n; r++) if (suppressed[r]) report.suppressedRecords++;
  data.quasiIdentifiers.forEach((q, a) => {
    const level = levels[a]!;
    if (!Number.isInteger(level) || level < 0 || level >= q.hierarchy.height) {
      throw new SluiceError('SLUICE_ERR_TRANSFORM_INVALID', `levels[${a}] (${q.name}): expected 0..${q.hierarchy.height - 1}, found ${level}`);
    }
    const out = new Array<string>(data.n);
    let generalized = 0;
    for (let r = 0; r < data.n; r++) {
      if (suppressed[r]) {
        out[r] = '*';
        continue;
      }
      const row = q.hierarchy.rows[q.codes[r]!]!;
      out[r] = row[level]!;
      if (level > 0 && row[level] !== row[0]) generalized++;
    }
    columns[q.name] = out;
    report.columns[q.name] = { level, height: q.hierarchy.height, generalized, suppressed: report.suppressedRecords };
  });
  return { columns, report };
}
