// Over 500 lines because the partitioner's serial and shared-memory parallel paths must stay byte-identical, so they live together.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { SluiceError } from '../lib/errors.js';
import { poolCache, runTask, taskFile } from '../lib/pool.js';

/**
 * The quasi-identifiers of a table, encoded for Mondrian: one ordinal code per
 * row and column, `0..cardinality-1`, ordered so that hierarchy siblings are
 * adjacent (for a numeric attribute: numeric order). `n` is the row count and
 * every `codes` array has exactly `n` entries. The arrays are read, never
 * modified nor transferred.
 */
export interface MondrianInput {
  n: number;
  columns: { name: string; codes: Int32Array; cardinality: number }[];
}

/** Options of {@link mondrian}. */
export interface MondrianOptions {
  /** Every class gets at least `k` rows. An integer ≥ 1 and ≤ n. */
  k: number;
  /**
   * Default false (strict Mondrian: rows equal to the median all go to one side,
   * classes never overlap). True: rows at the median may be divided between the
   * two halves to balance them, so two classes may share the median code.
   */
  relaxed?: boolean;
  /**
   * Worker threads. Default: `availableParallelism()`. 1 runs the whole
   * partitioning in the calling thread (no pool).
   */
  threads?: number;
}

/**
 * The equivalence classes Mondrian found. `classOf[row]` is the class id of a
 * row; `classes[id]` gives its size and, per input column, the inclusive code
 * range `lo[c]..hi[c]` of the rows in it (the tight range: both ends occur).
 * Classes are numbered in the depth-first, lower-half-first order of the
 * partitioning, so the output is deterministic and does not depend on `threads`.
 */
export interface MondrianResult {
  classOf: Int32Array;
  classes: { size: number; lo: Int32Array; hi: Int32Array }[];
}

/**
 * Internal: one subtree given to a worker (or solved by the calling thread).
 * `rows` are the original row ids and `cols[c][i]` the code of `rows[i]` in
 * column c: views of one range of arrays in shared memory, which the solver
 * reorders in place (other threads own the other ranges). `lo`/`hi` are the
 * subtree's tight code ranges (null: the solver computes them); `spans[c]` is
 * the code range of column c over the whole table (the normalizer of widths);
 * `maxCardinality` sizes the counting buffer.
 */
export interface MondrianSubtreeTask {
  kind: 'solve';
  rows: Int32Array;
  cols: Int32Array[];
  lo: Int32Array | null;
  hi: Int32Array | null;
  spans: Float64Array;
  k: number;
  relaxed: boolean;
  maxCardinality: number;
}

/**
 * Internal: what a subtree's partitioning returns. `rows` is the task's row ids
 * reordered so that each class is a contiguous run, classes in output order;
 * `sizes[j]` is the length of run j; `lo`/`hi` hold `sizes.length × columns`
 * codes, class-major.
 */
export interface MondrianSubtreeResult {
  rows: Int32Array;
  sizes: Int32Array;
  lo: Int32Array;
  hi: Int32Array;
}

/** Cardinalities above this would make the counting buffer unreasonably large. */
const MAX_CARDINALITY = 1 << 24;

const invalid = (message: string, details?: Record<string, unknown>): SluiceError =>
  new SluiceError('SLUICE_ERR_TRANSFORM_INVALID', message, details ? { details } : {});

/** Tight code ranges of rows `start..end` in every column. */
function rangeOf(cols: readonly Int32Array[], start: number, end: number): { lo: Int32Array; hi: Int32Array } {
  const d = cols.length;
  const lo = new Int32Array(d);
  const hi = new Int32Array(d);
  for (let c = 0; c < d; c++) {
    const col = cols[c]!;
    let mn = 0x7fffffff;
    let mx = -1;
    for (let i = start; i < end; i++) {
      const v = col[i]!;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    lo[c] = end > start ? mn : 0;
    hi[c] = end > start ? mx : 0;
  }
  return { lo, hi };
}

/**
 * Decides Mondrian's cuts. Partitions are kept as contiguous runs of every
 * array (row ids and each column's codes are physically reordered together),
 * so counting and splitting read memory sequentially instead of gathering codes
 * through row ids, and a subtree can be shipped as plain slices.
 */
class Splitter {
  /** `side[i - start]` is 1 when row i goes to the lower half of the last decided cut. */
  readonly side: Uint8Array;
  /** Scratch space for partitioning, one row per entry. */
  readonly scratch: Int32Array;
  private readonly counts: Int32Array;
  private readonly order: number[] = [];
  private readonly widths: Float64Array;

  constructor(
    readonly spans: Float64Array,
    readonly k: number,
    readonly relaxed: boolean,
    maxCardinality: number,
    capacity: number,
    side?: Uint8Array,
  ) {
    this.side = side ?? new Uint8Array(capacity);
    this.scratch = new Int32Array(capacity);
    this.counts = new Int32Array(Math.max(1, maxCardinality));
    this.widths = new Float64Array(spans.length);
  }

  /**
   * Finds the cut of rows `start..end` (ranges `lo`/`hi`) with ≥ k rows on both
   * sides, trying dimensions from the widest normalized range down; fills
   * `side` and returns the lower half's size, or -1 when no dimension can be
   * cut (the partition is a class).
   */
  decide(cols: readonly Int32Array[], start: number, end: number, lo: Int32Array, hi: Int32Array): number {
    const n = end - start;
    const k = this.k;
    if (n < 2 * k) return -1;
    const order = this.order;
    order.length = 0;
    for (let c = 0; c < cols.length; c++) {
      const span = this.spans[c]!;
      const w = hi[c]! > lo[c]! && span > 0 ? (hi[c]! - lo[c]!) / span : 0;
      this.widths[c] = w;
      if (w > 0) order.push(c);
    }
    // Ties go to the lower column index so the result is fully determined by the input.
    order.sort((a, b) => this.widths[b]! - this.widths[a]! || a - b);
    const counts = this.counts;
    const side = this.side;
    for (const c of order) {
      const col = cols[c]!;
      const l = lo[c]!;
      const h = hi[c]!;
      counts.fill(0, l, h + 1);
      for (let i = start; i < end; i++) counts[col[i]!]!++;
      // Counting replaces sorting: the median is the first code whose cumulative count reaches n/2.
      let m = l;
      let upTo = 0;
      for (; m <= h; m++) {
        upTo += counts[m]!;
        if (upTo * 2 >= n) break;
      }
      const below = upTo - counts[m]!;
      if (this.relaxed) {
        const leftSize = n >> 1;
        let takeAtMedian = leftSize - below;
        for (let i = start; i < end; i++) {
          const v = col[i]!;
          // Rows at the median fill the lower half in their current (row id) order: deterministic.
          if (v < m) side[i - start] = 1;
          else if (v === m && takeAtMedian > 0) {
            side[i - start] = 1;
            takeAtMedian--;
          } else side[i - start] = 0;
        }
        return leftSize;
      }
      // Strict: the two most balanced cuts are "median goes up" and "median goes down"; any other is worse.
      const okBelow = below >= k && n - below >= k;
      const okUpTo = upTo >= k && n - upTo >= k;
      if (!okBelow && !okUpTo) continue;
      const useBelow = okBelow && (!okUpTo || Math.abs(2 * below - n) < Math.abs(2 * upTo - n));
      const cut = useBelow ? m - 1 : m;
      for (let i = start; i < end; i++) side[i - start] = ((cut - col[i]!) >>> 31) ^ 1;
      return useBelow ? below : upTo;
    }
    return -1;
  }

  /** Stable in-place partition of `start..end` of every array by `side`. */
  partitionInPlace(arrays: readonly Int32Array[], start: number, end: number): void {
    const side = this.side;
    const scratch = this.scratch;
    for (const arr of arrays) {
      let w = start;
      let r = 0;
      // Branch-free: sides are close to random, and a mispredicted branch per row costs more than two stores.
      // Writing arr[w] in place is safe because w never passes the read position i.
      for (let i = start; i < end; i++) {
        const v = arr[i]!;
        const s = side[i - start]!;
        arr[w] = v;
        scratch[r] = v;
        w += s;
        r += 1 - s;
      }
      arr.set(scratch.subarray(0, r), w);
    }
  }

  /**
   * Stable partition of a whole array by `side` into `dst` (lower half first,
   * `leftSize` rows); `null` stands for the identity row ids 0..len-1. One pass:
   * it is the copy and the split at once.
   */
  partitionInto(src: Int32Array | null, dst: Int32Array, len: number, leftSize: number): void {
    const side = this.side;
    let w = 0;
    let r = leftSize;
    for (let i = 0; i < len; i++) {
      const v = src === null ? i : src[i]!;
      const s = side[i]!;
      dst[r + s * (w - r)] = v;
      w += s;
      r += 1 - s;
    }
  }
}

/** Partitions rows `0..rows.length` to the end in place, appending classes depth-first, lower half first. */
function solveInPlace(sp: Splitter, rows: Int32Array, cols: Int32Array[], lo: Int32Array, hi: Int32Array, out: ClassSink): void {
  const arrays = [rows, ...cols];
  const stack: Segment[] = [{ start: 0, end: rows.length, lo, hi }];
  while (stack.length > 0) {
    const seg = stack.pop()!;
    const leftSize = seg.end > seg.start ? sp.decide(cols, seg.start, seg.end, seg.lo, seg.hi) : -1;
    if (leftSize < 0) {
      if (seg.end > seg.start) out.add(seg.end - seg.start, seg.lo, seg.hi);
      continue;
    }
    const mid = seg.start + leftSize;
    sp.partitionInPlace(arrays, seg.start, seg.end);
    stack.push({ start: mid, end: seg.end, ...rangeOf(cols, mid, seg.end) });
    stack.push({ start: seg.start, end: mid, ...rangeOf(cols, seg.start, mid) });
  }
}

interface Segment {
  start: number;
  end: number;
  lo: Int32Array;
  hi: Int32Array;
}

/** Growable class list in flat typed arrays. */
class ClassSink {
  private sizes: Int32Array = new Int32Array(64);
  private lo: Int32Array;
  private hi: Int32Array;
  count = 0;

  constructor(private readonly d: number) {
    this.lo = new Int32Array(64 * d);
    this.hi = new Int32Array(64 * d);
  }

  add(size: number, lo: Int32Array, hi: Int32Array): void {
    if (this.count === this.sizes.length) {
      const grow = (a: Int32Array, len: number): Int32Array => {
        const b = new Int32Array(len);
        b.set(a);
        return b;
      };
      this.sizes = grow(this.sizes, this.sizes.length * 2);
      this.lo = grow(this.lo, this.sizes.length * this.d);
      this.hi = grow(this.hi, this.sizes.length * this.d);
    }
    this.sizes[this.count] = size;
    this.lo.set(lo, this.count * this.d);
    this.hi.set(hi, this.count * this.d);
    this.count++;
  }

  /** Exact-length copies: each owns its whole buffer, so it can be transferred. */
  finish(rows: Int32Array): MondrianSubtreeResult {
    return {
      rows,
      sizes: this.sizes.slice(0, this.count),
      lo: this.lo.slice(0, this.count * this.d),
      hi: this.hi.slice(0, this.count * this.d),
    };
  }
}

/**
 * Internal (the worker task calls it): partitions one whole subtree to the end.
 * Reorders `task.rows` and `task.cols` in place.
 */
export function partitionSubtree(task: MondrianSubtreeTask): MondrianSubtreeResult {
  const n = task.rows.length;
  const sp = new Splitter(task.spans, task.k, task.relaxed, task.maxCardinality, n);
  const out = new ClassSink(task.cols.length);
  const { lo, hi } = task.lo !== null && task.hi !== null ? { lo: task.lo, hi: task.hi } : rangeOf(task.cols, 0, n);
  solveInPlace(sp, task.rows, task.cols, lo, hi, out);
  return out.finish(task.rows);
}

/**
 * Internal: wraps a payload so piscina transfers the given typed arrays'
 * buffers instead of copying them. Refuses a view that does not span its whole
 * buffer: transferring it would detach memory the sender still uses.
 */
export function movable<T extends object>(value: T, arrays: readonly ArrayBufferView[]): T {
  const buffers: ArrayBuffer[] = [];
  for (const a of arrays) {
    if (a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength || !(a.buffer instanceof ArrayBuffer)) {
      throw new SluiceError('SLUICE_ERR_INTERNAL', 'mondrian: refusing to transfer a view of a larger or shared buffer');
    }
    buffers.push(a.buffer);
  }
  const bundle = {
    get [Piscina.transferableSymbol]() {
      return buffers;
    },
    get [Piscina.valueSymbol]() {
      return value;
    },
  };
  return Piscina.move(bundle as never) as unknown as T;
}

const pools = poolCache(taskFile('mondrian-task'));

/**
 * Mondrian's worker pools are module-level and created lazily, one per thread
 * count asked for, because starting a worker with the TypeScript loader costs
 * hundreds of milliseconds and repeated calls (one per job step) should not pay
 * it each time. Idle workers do not keep the process alive (piscina unrefs
 * them). Call this at shutdown, or after tests, to terminate them; a later
 * {@link mondrian} call creates a fresh pool. Must not be called while a
 * {@link mondrian} call is in flight (its pending subtrees would be aborted).
 */
export async function closeMondrianPool(): Promise<void> {
  await pools.closeAll();
}

function poolFor(threads: number): Piscina {
  return pools.get(threads);
}

/** Checks the input and options; returns the defaults-filled values and the table's code ranges. */
function validate(
  input: MondrianInput,
  options: MondrianOptions,
): { threads: number; relaxed: boolean; maxCardinality: number; lo: Int32Array; hi: Int32Array } {
  const { n, columns } = input;
  if (!Number.isInteger(n) || n < 0) throw invalid('mondrian: input.n must be a non-negative integer row count');
  if (!Array.isArray(columns)) throw invalid('mondrian: input.columns must be an array');
  const { k } = options;
  if (!Number.isInteger(k) || k < 1) throw invalid('mondrian: options.k must be an integer ≥ 1');
  if (k > n) {
    throw invalid(`mondrian: options.k (${k}) exceeds the row count n (${n}); no class can reach k rows`, { k, n });
  }
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw invalid('mondrian: options.threads must be an integer ≥ 1');
  const relaxed = options.relaxed ?? false;
  if (typeof relaxed !== 'boolean') throw invalid('mondrian: options.relaxed must be a boolean');
  let maxCardinality = 1;
  const lo = new Int32Array(columns.length);
  const hi = new Int32Array(columns.length);
  columns.forEach((col, c) => {
    const where = `mondrian: input.columns[${c}] (${JSON.stringify(String(col?.name))})`;
    if (!(col?.codes instanceof Int32Array)) throw invalid(`${where}.codes must be an Int32Array`);
    if (col.codes.length !== n) {
      throw invalid(`${where}.codes has ${col.codes.length} entries; expected n = ${n}`, { column: c, found: col.codes.length, n });
    }
    const card = col.cardinality;
    if (!Number.isInteger(card) || card < 1 || card > MAX_CARDINALITY) {
      throw invalid(`${where}.cardinality must be an integer in 1..${MAX_CARDINALITY}`);
    }
    const codes = col.codes;
    let mn = card;
    let mx = -1;
    for (let i = 0; i < n; i++) {
      const v = codes[i]!;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    if (mn < 0 || mx >= card) {
      // The row index is reported, never the offending code (it stands for a data value).
      const row = codes.findIndex((v) => v < 0 || v >= card);
      throw invalid(`${where}.codes[${row}] is outside 0..cardinality-1 (cardinality ${card})`, { column: c, row });
    }
    lo[c] = mn;
    hi[c] = mx;
    if (card > maxCardinality) maxCardinality = card;
  });
  return { threads, relaxed, maxCardinality, lo, hi };
}

/**
 * Internal: gathers one half of the root's cut from the shared copy of the
 * table. `side[i]` is 1 when row i belongs to the lower half; `rows` and
 * `cols` are views of exactly that half's range of the shared output arrays.
 */
export interface MondrianExtractTask {
  kind: 'extract';
  src: Int32Array[];
  side: Uint8Array;
  lower: boolean;
  rows: Int32Array;
  cols: Int32Array[];
}

/**
 * Internal (the calling thread and the worker task run it): fills one half of
 * the root's cut, stably, and returns its tight code ranges. The row ids are
 * found branch-free: every row id is written at the next free slot and the
 * slot advances only for rows of this half, so the loop stops once the half is
 * full (a row id written past it would land in another thread's range).
 */
export function extractHalf(task: MondrianExtractTask): { lo: Int32Array; hi: Int32Array } {
  const { side, rows } = task;
  const len = rows.length;
  const want = task.lower ? 1 : 0;
  let w = 0;
  for (let i = 0; w < len; i++) {
    rows[w] = i;
    w += (side[i]! ^ want) ^ 1;
  }
  // Codes are gathered through the row ids: sequential writes, reads that only move forward.
  task.src.forEach((from, c) => {
    const dst = task.cols[c]!;
    for (let j = 0; j < len; j++) dst[j] = from[rows[j]!]!;
  });
  return rangeOf(task.cols, 0, len);
}

/**
 * Mondrian multidimensional local recoding for k-anonymity (LeFevre et al.).
 * Recursively splits the table on the quasi-identifier with the widest range
 * (normalized by that column's code range over the whole table; ties to the
 * lower column index) at the median, keeping ≥ k rows on each side; if that
 * dimension admits no such cut the next widest is tried, and a partition no
 * dimension can cut becomes a class. Strict (default): all rows equal to the
 * median go to the one side that balances best. Relaxed: the halves get
 * ⌊size/2⌋ and ⌈size/2⌉ rows, rows at the median filling the lower half in row
 * order. Medians are found by counting codes, not sorting.
 *
 * With `threads > 1` the row ids and codes are copied once into shared memory,
 * the root's cut applied during that copy; the calling thread splits the top of
 * the tree in place (largest partition first) until every partition has at
 * most 1.1·n / threads rows, then hands each such range, largest first, to a
 * piscina pool and solves the largest itself. Workers partition their range
 * of the shared arrays in place; only class sizes and ranges come back (see
 * {@link closeMondrianPool}). The result is identical for every thread count.
 *
 * Throws SLUICE_ERR_TRANSFORM_INVALID for bad input: k < 1 or k > n, codes of
 * the wrong length or outside 0..cardinality-1, bad thread counts.
 */
export async function mondrian(input: MondrianInput, options: MondrianOptions): Promise<MondrianResult> {
  const { threads, relaxed, maxCardinality, lo, hi } = validate(input, options);
  const { n, columns } = input;
  const d = columns.length;
  const k = options.k;
  const spans = new Float64Array(d);
  for (let c = 0; c < d; c++) spans[c] = hi[c]! - lo[c]!;

  const classOf = new Int32Array(n);
  const classes: MondrianResult['classes'] = [];
  const collect = (r: MondrianSubtreeResult): void => {
    let p = 0;
    for (let j = 0; j < r.sizes.length; j++) {
      const id = classes.length;
      const size = r.sizes[j]!;
      for (const stop = p + size; p < stop; p++) classOf[r.rows[p]!] = id;
      // Views, not copies: with ~n/k classes, per-class copies were a large part of the serial time.
      classes.push({ size, lo: r.lo.subarray(j * d, j * d + d), hi: r.hi.subarray(j * d, j * d + d) });
    }
  };
  const identity = (len: number): Int32Array => {
    const rows = new Int32Array(len);
    for (let i = 0; i < len; i++) rows[i] = i;
    return rows;
  };

  if (threads === 1) {
    // Private copies: partitioning reorders them, and the caller's arrays stay untouched.
    const rows = identity(n);
    const cols = columns.map((c) => c.codes.slice());
    const out = new ClassSink(d);
    solveInPlace(new Splitter(spans, k, relaxed, maxCardinality, n), rows, cols, lo, hi, out);
    collect(out.finish(rows));
    return { classOf, classes };
  }

  const pool = poolFor(threads - 1);
  // Row ids and codes live in shared memory: the calling thread and the workers
  // partition disjoint ranges of the same arrays in place, so after the first
  // split nothing is copied or transferred.
  const shared = (): Int32Array => new Int32Array(new SharedArrayBuffer(Math.max(4, 4 * n)));
  const src = columns.map((c) => {
    const a = shared();
    a.set(c.codes);
    return a;
  });
  const side = new Uint8Array(new SharedArrayBuffer(Math.max(1, n)));
  const sp = new Splitter(spans, k, relaxed, maxCardinality, n, side);
  const rows = shared();
  const cols = columns.map(() => shared());
  const rootLeft = sp.decide(src, 0, n, lo, hi);
  if (rootLeft < 0) {
    for (let i = 0; i < n; i++) rows[i] = i;
    const one = new ClassSink(d);
    if (n > 0) one.add(n, lo, hi);
    collect(one.finish(rows));
    return { classOf, classes };
  }
  // The root's two halves are gathered from the copy at the same time, the
  // upper one by a worker, the lower one here: the first split is the one
  // pass over the whole table, and it is not left to one thread.
  const half = (lower: boolean): MondrianExtractTask => {
    const [from, to] = lower ? [0, rootLeft] : [rootLeft, n];
    return { kind: 'extract', src, side, lower, rows: rows.subarray(from, to), cols: cols.map((c) => c.subarray(from, to)) };
  };
  const upper = runTask<{ lo: Int32Array; hi: Int32Array }>(pool, half(false), 'mondrian: a partitioning worker');
  upper.catch(() => undefined);
  const lowerRange = extractHalf(half(true));
  const upperRange = await upper;
  // About one subtree per thread; 10% slack so a near-even split does not force another level.
  const limit = Math.max(1, Math.ceil((1.1 * n) / threads));
  // The top of the tree, in depth-first order: ranges of the shared arrays still to split or solve, or classes found there.
  const frontier: (Segment | MondrianSubtreeResult)[] = [
    { start: 0, end: rootLeft, ...lowerRange },
    { start: rootLeft, end: n, ...upperRange },
  ];
  const isSegment = (x: Segment | MondrianSubtreeResult): x is Segment => 'start' in x;
  const size = (x: Segment): number => x.end - x.start;
  const arrays = [rows, ...cols];
  for (;;) {
    // Split the largest range first, so the top stops as soon as every subtree is small enough.
    let at = -1;
    for (let i = 0; i < frontier.length; i++) {
      const x = frontier[i]!;
      if (isSegment(x) && size(x) > limit && (at < 0 || size(x) > size(frontier[at] as Segment))) at = i;
    }
    if (at < 0) break;
    const seg = frontier[at] as Segment;
    const leftSize = sp.decide(cols, seg.start, seg.end, seg.lo, seg.hi);
    if (leftSize < 0) {
      const one = new ClassSink(d);
      one.add(size(seg), seg.lo, seg.hi);
      frontier[at] = one.finish(rows.subarray(seg.start, seg.end));
      continue;
    }
    const mid = seg.start + leftSize;
    sp.partitionInPlace(arrays, seg.start, seg.end);
    frontier.splice(at, 1, { start: seg.start, end: mid, ...rangeOf(cols, seg.start, mid) }, { start: mid, end: seg.end, ...rangeOf(cols, mid, seg.end) });
  }
  const task = (seg: Segment): MondrianSubtreeTask => ({
    kind: 'solve',
    rows: rows.subarray(seg.start, seg.end),
    cols: cols.map((c) => c.subarray(seg.start, seg.end)),
    lo: seg.lo,
    hi: seg.hi,
    spans,
    k,
    relaxed,
    maxCardinality,
  });
  const ship = (seg: Segment): Promise<MondrianSubtreeResult> => runTask<MondrianSubtreeResult>(pool, task(seg), 'mondrian: a partitioning worker');
  // Largest subtree first (LPT scheduling): a big one started last would finish alone.
  const parts: (Promise<MondrianSubtreeResult> | MondrianSubtreeResult)[] = [];
  frontier.forEach((x, i) => {
    if (!isSegment(x)) parts[i] = x;
  });
  const order = frontier
    .map((x, i) => ({ i, len: isSegment(x) ? size(x) : -1 }))
    .filter((e) => e.len >= 0)
    .sort((p, q) => q.len - p.len || p.i - q.i);
  // The calling thread would otherwise only wait: it solves the largest subtree
  // itself (the same deterministic code a worker runs), so `threads` counts it
  // and the pool holds threads − 1 workers. It takes the largest because it
  // starts at once, while a worker's result comes back a message later.
  const local = order.shift();
  for (const { i } of order) {
    const pending = ship(frontier[i] as Segment);
    // An early failure must not leave later rejections unhandled; the ordered await below reports the first.
    pending.catch(() => undefined);
    parts[i] = pending;
  }
  if (local) parts[local.i] = partitionSubtree(task(frontier[local.i] as Segment));
  // Collecting in order overlaps the calling thread's bookkeeping with subtrees still running.
  for (let i = 0; i < frontier.length; i++) collect(await parts[i]!);
  return { classOf, classes };
}


/**
 * Writes each row's generalized value: per column, per row, the label of its
 * class's code range — the single label when the range is one code, else
 * `[<label of lo>-<label of hi>]` (e.g. `[30-39]`). `labels[c][code]` is the
 * label of a code in column c, in the order of the {@link MondrianInput}
 * columns. Throws SLUICE_ERR_TRANSFORM_INVALID when a column's labels are
 * missing or too few for the codes used.
 */
export function recodeMondrian(result: MondrianResult, labels: string[][]): string[][] {
  const first = result.classes[0];
  const d = first ? first.lo.length : labels.length;
  if (labels.length !== d) throw invalid(`recodeMondrian: labels has ${labels.length} columns; expected ${d}`);
  const n = result.classOf.length;
  const out: string[][] = [];
  for (let c = 0; c < d; c++) {
    const lab = labels[c]!;
    const perClass = result.classes.map((cl, id) => {
      const l = cl.lo[c]!;
      const h = cl.hi[c]!;
      const a = lab[l];
      const b = lab[h];
      if (a === undefined || b === undefined) {
        throw invalid(`recodeMondrian: labels[${c}] has ${lab.length} labels, too few for the codes of class ${id}`);
      }
      return l === h ? a : `[${a}-${b}]`;
    });
    const col = new Array<string>(n);
    for (let i = 0; i < n; i++) col[i] = perClass[result.classOf[i]!]!;
    out.push(col);
  }
  return out;
}
