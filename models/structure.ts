/**
 * Static structure of a trained model, read from its serialized form and the
 * training rows (AUDIT.md C1–C3, after SACRO-ML's structural attack): whether
 * it is instance-based, whether any training row or identifier value appears
 * in the serialized artifact, the training rows in each tree leaf, and the
 * residual degrees of freedom. Reports counts only, never a value.
 *
 * Parameter counts follow SACRO-ML: a logistic regression has one weight per
 * feature and one intercept per class row; a tree 2 per internal node
 * (feature, threshold) and k − 1 per leaf; a kNN stores n·d values and n labels.
 * For a bagged forest the degrees of freedom use the parameters of its average
 * tree ("effective" parameters): the forest's output is the mean of its trees,
 * and the trace of a mean of hat matrices is the mean of their traces, so
 * averaging does not fit the training labels with more degrees of freedom than
 * one tree does. SACRO-ML sums the trees instead; that sum is reported too
 * (`parametersSummed`).
 */
import { isEmail, isMobileNumber, isValidCreditCode, isValidLuhn, isValidResidentId } from '../transforms/identifiers.js';
import { mix32, type Dataset } from './dataset.js';
import { DecisionTreeModel, type DecisionTreeJSON } from './decision-tree.js';

/** Kinds of identifier values looked for in a serialized model. */
export type IdentifierKind = 'resident-id' | 'credit-code' | 'mobile' | 'bank-card' | 'email';

/** What {@link scanSerialized} found. Counts only. */
export interface ArtifactScan {
  /** Distinct training rows whose full feature vector appears verbatim as a run of numbers in the artifact. */
  trainingRowsFound: number;
  /** Training rows searched (rows with fewer than `minNonZero` non-zero features are too generic to be evidence and are skipped). */
  trainingRowsSearched: number;
  /** Numeric runs (arrays of numbers, and arrays of number arrays read as one run) scanned. */
  numericRuns: number;
  /** Numbers in those runs. */
  numbersScanned: number;
  /** Identifier-shaped values found, by kind. */
  identifiers: Record<IdentifierKind, number>;
  /** Sum of `identifiers`. */
  identifiersFound: number;
}

/** Options of {@link scanSerialized}. */
export interface ScanOptions {
  /** Rows with fewer non-zero features are not searched for. Default 2. */
  minNonZero?: number;
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const BASE = 0x01000193;

function valueHash(v: number): number {
  // −0 and 0 serialize alike, so they must hash alike.
  F64[0] = v === 0 ? 0 : v;
  return mix32(U32[0]! ^ mix32(U32[1]! + 0x9e3779b9));
}

function powMod32(b: number, e: number): number {
  let r = 1;
  for (let i = 0; i < e; i++) r = Math.imul(r, b) >>> 0;
  return r;
}

/** Every array of numbers in a JSON value (an array of number arrays is flattened into one run, as a row-major matrix). */
function numericRuns(value: unknown, out: number[][]): void {
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((v) => typeof v === 'number')) {
      out.push(value as number[]);
      return;
    }
    if (value.length > 0 && value.every((v) => Array.isArray(v) && v.every((x) => typeof x === 'number'))) {
      out.push((value as number[][]).flat());
      for (const v of value) out.push(v as number[]);
      return;
    }
    for (const v of value) numericRuns(v, out);
    return;
  }
  if (value !== null && typeof value === 'object') {
    // A typed array serialized by JSON.stringify becomes {"0": …, "1": …}.
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > 0 && entries.every(([k, v], i) => k === String(i) && typeof v === 'number')) {
      out.push(entries.map(([, v]) => v as number));
      return;
    }
    for (const [, v] of entries) numericRuns(v, out);
  }
}

function identifierKinds(token: string): IdentifierKind[] {
  const kinds: IdentifierKind[] = [];
  if (token.length === 18 && isValidResidentId(token)) kinds.push('resident-id');
  else if (token.length === 18 && isValidCreditCode(token)) kinds.push('credit-code');
  let digits = token;
  if (/^\+?86\d{11}$/.test(digits)) digits = digits.slice(digits.length - 11);
  if (isMobileNumber(digits)) kinds.push('mobile');
  if (/^\d{16,19}$/.test(token) && isValidLuhn(token) && !kinds.includes('resident-id')) kinds.push('bank-card');
  if (token.includes('@') && isEmail(token)) kinds.push('email');
  return kinds;
}

function scanIdentifiers(value: unknown, counts: Record<IdentifierKind, number>): void {
  if (typeof value === 'string') {
    for (const token of value.split(/[\s,;:|/\\()[\]{}"'=<>*#&?!]+/)) {
      if (token.length < 6) continue;
      for (const k of identifierKinds(token)) counts[k]++;
    }
    return;
  }
  if (typeof value === 'number') {
    // Identifier numbers stored as JSON numbers: whole, 11 or more digits.
    if (Number.isSafeInteger(value) && Math.abs(value) >= 1e10) for (const k of identifierKinds(String(Math.abs(value)))) counts[k]++;
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) scanIdentifiers(v, counts);
    return;
  }
  if (value !== null && typeof value === 'object') for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    scanIdentifiers(key, counts);
    scanIdentifiers(v, counts);
  }
}

/**
 * Scans a serialized model (any JSON value: the artifact, or its `model` part)
 * for the training rows of `train` — each row's d encoded features appearing
 * verbatim, consecutively, in one numeric run, found with a rolling hash over
 * the runs and confirmed value by value — and for identifier-shaped values
 * (resident ID numbers with a valid GB 11643 check digit, unified social credit
 * codes, mainland mobile numbers, Luhn-valid 16–19 digit card numbers,
 * e-mail addresses) in strings, keys and whole numbers.
 */
export function scanSerialized(serialized: unknown, train: Dataset, options: ScanOptions = {}): ArtifactScan {
  const minNonZero = options.minNonZero ?? 2;
  const { d, n, X } = train;
  const runs: number[][] = [];
  numericRuns(serialized, runs);
  const byHash = new Map<number, number[]>();
  let searched = 0;
  if (d > 0) {
    for (let i = 0; i < n; i++) {
      let nz = 0;
      let h = 0;
      for (let j = 0; j < d; j++) {
        const v = X[i * d + j]!;
        if (v !== 0) nz++;
        h = (Math.imul(h, BASE) + valueHash(v)) >>> 0;
      }
      if (nz < minNonZero) continue;
      searched++;
      const list = byHash.get(h);
      if (list) list.push(i);
      else byHash.set(h, [i]);
    }
  }
  const found = new Uint8Array(n);
  let numbers = 0;
  const top = powMod32(BASE, d - 1);
  for (const run of runs) {
    numbers += run.length;
    if (d === 0 || run.length < d || byHash.size === 0) continue;
    let h = 0;
    for (let j = 0; j < d; j++) h = (Math.imul(h, BASE) + valueHash(run[j]!)) >>> 0;
    for (let s = 0; ; s++) {
      const list = byHash.get(h);
      if (list) {
        for (const i of list) {
          if (found[i]) continue;
          let same = true;
          for (let j = 0; j < d && same; j++) same = run[s + j] === X[i * d + j] || (run[s + j] === 0 && X[i * d + j] === 0);
          if (same) found[i] = 1;
        }
      }
      if (s + d >= run.length) break;
      h = (Math.imul((h - Math.imul(valueHash(run[s]!), top)) >>> 0, BASE) + valueHash(run[s + d]!)) >>> 0;
    }
  }
  let rowsFound = 0;
  for (let i = 0; i < n; i++) rowsFound += found[i]!;
  const identifiers: Record<IdentifierKind, number> = { 'resident-id': 0, 'credit-code': 0, mobile: 0, 'bank-card': 0, email: 0 };
  scanIdentifiers(serialized, identifiers);
  return {
    trainingRowsFound: rowsFound,
    trainingRowsSearched: searched,
    numericRuns: runs.length,
    numbersScanned: numbers,
    identifiers,
    identifiersFound: Object.values(identifiers).reduce((a, b) => a + b, 0),
  };
}

/** Leaf sizes of one tree. */
export interface TreeLeaves {
  /** Leaf count. */
  leaves: number;
  /** Training rows of `train` routed to each leaf (the structure's own answer, independent of what the artifact records). */
  routed: number[];
  /** Distinct training rows each leaf records (`samples`; the tree's own sample, in-bag only inside a forest). */
  recorded: number[];
  /** The tree's parameters (2 per internal node, k − 1 per leaf). */
  parameters: number;
}

/** The structure of a model as C1–C3 read it. */
export interface ModelStructure {
  kind: string;
  /** kNN and other models that keep training rows to answer queries. */
  instanceBased: boolean;
  /** Training rows. */
  trainingRows: number;
  /** Parameters that count against the degrees of freedom (for a forest, its average tree's). */
  parameters: number;
  /** All parameters summed over ensemble members (= `parameters` for a single model). */
  parametersSummed: number;
  /** trainingRows − parameters. */
  degreesOfFreedom: number;
  /** Per tree, for trees and forests; empty otherwise. */
  trees: TreeLeaves[];
  /** Smallest routed leaf over all trees (null without trees). */
  minLeafRouted: number | null;
  /** Smallest recorded leaf over all trees (null without trees). */
  minLeafRecorded: number | null;
  /** The min_samples_leaf recorded in the serialized model's parameters (null when it has none). */
  recordedMinSamplesLeaf: number | null;
  /** The bootstrap flag recorded in a forest's parameters (null otherwise). */
  recordedBootstrap: boolean | null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function treeParameters(t: DecisionTreeJSON, k: number): { parameters: number; leaves: number } {
  let leaves = 0;
  for (const f of t.feature) if (f < 0) leaves++;
  return { parameters: 2 * (t.feature.length - leaves) + leaves * (k - 1), leaves };
}

function readTree(t: DecisionTreeJSON, train: Dataset, k: number): TreeLeaves {
  const model = DecisionTreeModel.fromJSON(t);
  const leafOf = model.apply(train.X, train.n);
  const routedBy = new Map<number, number>();
  for (let i = 0; i < train.n; i++) routedBy.set(leafOf[i]!, (routedBy.get(leafOf[i]!) ?? 0) + 1);
  const routed: number[] = [];
  const recorded: number[] = [];
  for (let node = 0; node < t.feature.length; node++) {
    if (t.feature[node]! >= 0) continue;
    routed.push(routedBy.get(node) ?? 0);
    recorded.push(t.samples[node] ?? 0);
  }
  const { parameters, leaves } = treeParameters(t, k);
  return { leaves, routed, recorded, parameters };
}

/**
 * Reads the structure of a serialized model of `kind` (`logistic`, `tree`,
 * `forest`, `knn`; the `model` part of an artifact) trained on `train` with
 * `k` classes. Leaf sizes come from routing the training rows through each
 * tree (SACRO-ML's `apply`), and also as the artifact records them.
 */
export function modelStructure(kind: string, modelJson: unknown, train: Dataset, k: number): ModelStructure {
  const json = isRecord(modelJson) ? modelJson : {};
  const params = isRecord(json['params']) ? json['params'] : {};
  const nTrain = train.n;
  let trees: TreeLeaves[] = [];
  let parameters = 0;
  let parametersSummed = 0;
  let instanceBased = false;
  if (kind === 'tree') {
    trees = [readTree(json as unknown as DecisionTreeJSON, train, k)];
    parameters = parametersSummed = trees[0]!.parameters;
  } else if (kind === 'forest') {
    const list = Array.isArray(json['trees']) ? (json['trees'] as DecisionTreeJSON[]) : [];
    trees = list.map((t) => readTree(t, train, k));
    parametersSummed = trees.reduce((a, t) => a + t.parameters, 0);
    parameters = trees.length ? parametersSummed / trees.length : 0;
  } else if (kind === 'logistic') {
    const coef = Array.isArray(json['coef']) ? (json['coef'] as number[][]) : [];
    const intercept = Array.isArray(json['intercept']) ? (json['intercept'] as number[]) : [];
    parameters = parametersSummed = coef.reduce((a, r) => a + (Array.isArray(r) ? r.length : 0), 0) + intercept.length;
  } else {
    // kNN (and any unknown kind that keeps its data): every stored value is a parameter.
    instanceBased = kind === 'knn' || Array.isArray(json['X']);
    const stored = Array.isArray(json['X']) ? (json['X'] as unknown[]).length : nTrain * train.d;
    const labels = Array.isArray(json['y']) ? (json['y'] as unknown[]).length : nTrain;
    parameters = parametersSummed = stored + labels;
  }
  const routedAll = trees.flatMap((t) => t.routed);
  const recordedAll = trees.flatMap((t) => t.recorded);
  const minOf = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => Math.min(a, b), Infinity) : null);
  const msl = params['min_samples_leaf'];
  const bs = params['bootstrap'];
  return {
    kind,
    instanceBased,
    trainingRows: nTrain,
    parameters,
    parametersSummed,
    degreesOfFreedom: nTrain - parameters,
    trees,
    minLeafRouted: minOf(routedAll),
    minLeafRecorded: minOf(recordedAll),
    recordedMinSamplesLeaf: typeof msl === 'number' ? msl : null,
    recordedBootstrap: kind === 'forest' && typeof bs === 'boolean' ? bs : null,
  };
}
