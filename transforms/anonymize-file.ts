/**
 * Anonymizes a CSV or Parquet file with an {@link AnonymizeConfig}: builds the
 * hierarchies, runs the optimal full-domain search or Mondrian, optionally
 * writes the result, and reports metrics and re-identification risk before
 * and after. Reads and writes through DuckDB.
 */
import { open, readFile } from 'node:fs/promises';
import { extname, isAbsolute, resolve } from 'node:path';
import { openDuck, quoteIdent, quoteLiteral, type Duck } from '../lib/duck.js';
import { SluiceError } from '../lib/errors.js';
import { parseAnonymizeConfig, type AnonymizeConfig, type AnonymizeConfigInput, type HierarchySpec } from './anonymize-config.js';
import {
  addressHierarchy,
  ageHierarchy,
  areaCodeHierarchy,
  dateHierarchy,
  intervalHierarchy,
  leafOrder,
  orderedHierarchy,
  parseArxHierarchy,
  unorderedHierarchy,
  type Hierarchy,
} from './hierarchy.js';
import { applyGeneralization, encodeData, optimalKAnonymize, type AnonymizationData } from './k-anonymize-optimal.js';
import { scanDirectIdentifiers, scanSplitIdentifiers, type DirectIdentifierCounts } from './direct-identifiers.js';
import { log } from '../lib/log.js';
import { arxLoss, riskAndMetrics, type RiskAndMetrics } from './metrics.js';
import type { MondrianInput, MondrianResult } from './mondrian.js';

/** Options of {@link anonymizeFile}. */
export interface AnonymizeFileOptions {
  /** Where to write the result; `.parquet` writes Parquet, anything else CSV (same separator as the input). Default: not written. */
  outputPath?: string;
  /** Directory that relative ARX hierarchy paths are resolved against. Default: the current directory. */
  baseDir?: string;
  /** Mondrian worker threads. Default: Mondrian's own default. */
  threads?: number;
}

/** What {@link anonymizeFile} did. */
export interface AnonymizeFileResult {
  /** Metrics and risk of the input on the quasi-identifiers. */
  before: RiskAndMetrics;
  /** Metrics and risk of the output as released (suppressed records form one class). */
  after: RiskAndMetrics;
  /** Level per quasi-identifier (optimal method only). */
  levels?: Record<string, number>;
  /** Records suppressed. */
  suppressed: number;
  /** Per quasi-identifier, how it was generalized, e.g. `level 2 of 0..4` or `mondrian ranges`. */
  generalizedColumns: Record<string, string>;
  method: AnonymizeConfig['method'];
  /**
   * Columns left out of the output because they are direct identifiers
   * (`directIdentifiers: drop`): per column, `declared` and/or what the content
   * scan found (kind → number of values). Empty when nothing was dropped.
   */
  droppedColumns: Record<string, { declared: boolean; found: DirectIdentifierCounts; joinedWith?: string }>;
}

/** `resident-id in 30 values, mobile in 2 values`: counts only, never a value. */
function describeFound(found: DirectIdentifierCounts): string {
  return Object.entries(found)
    .map(([kind, n]) => `${kind} in ${n} value${n === 1 ? '' : 's'}`)
    .join(', ');
}

/** One direct identifier the output would keep. */
interface IdentifierColumn {
  column: string;
  declared: boolean;
  found: DirectIdentifierCounts;
  role: 'quasi-identifier' | 'sensitive' | 'other';
  /** The other column this one forms an identifier with, when split over two. */
  joinedWith?: string;
}

function refuseIdentifiers(inputPath: string, cols: IdentifierColumn[], canDrop: boolean): never {
  const list = cols.map((c) => `${c.column} (${c.declared ? 'declared in declaredIdentifiers' : ''}${c.declared && Object.keys(c.found).length > 0 ? '; ' : ''}${describeFound(c.found)}${c.joinedWith !== undefined ? ` when joined with ${c.joinedWith}` : ''}${c.role === 'other' ? '' : `; configured as ${c.role}`})`);
  const hint = canDrop
    ? 'remove the column(s) from the input, or set directIdentifiers: drop to leave them out of the output'
    : 'a quasi-identifier or sensitive column must not hold direct identifiers: remove it from the config and from the input (or tokenize it first)';
  log.warn('anonymize.refused', { reason: 'SLUICE_ERR_ANON_DIRECT_IDENTIFIER', columns: cols.map((c) => c.column).join(','), input: inputPath });
  throw new SluiceError('SLUICE_ERR_ANON_DIRECT_IDENTIFIER', `input ${inputPath}: the output would keep direct identifier column(s) ${list.join(', ')}; ${hint}`, {
    details: { columns: cols.map((c) => ({ column: c.column, declared: c.declared, found: c.found, role: c.role, joinedWith: c.joinedWith ?? null })) },
  });
}

interface Table {
  names: string[];
  columns: Record<string, string[]>;
  n: number;
  separator: string;
}

async function detectSeparator(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead).toString('utf8');
    const firstLine = head.split(/\r?\n/, 1)[0] ?? '';
    const semi = firstLine.split(';').length;
    const comma = firstLine.split(',').length;
    return semi > comma ? ';' : ',';
  } finally {
    await fh.close();
  }
}

async function readTable(duck: Duck, path: string): Promise<Table> {
  const parquet = extname(path).toLowerCase() === '.parquet';
  const separator = parquet ? ',' : await detectSeparator(path);
  const source = parquet
    ? `read_parquet(${quoteLiteral(path)})`
    : `read_csv(${quoteLiteral(path)}, delim = ${quoteLiteral(separator)}, header = true, all_varchar = true)`;
  let reader;
  try {
    const described = await duck.conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
    const names = described.getRowObjectsJS().map((r) => String(r['column_name']));
    const select = names.map((c) => `CAST(${quoteIdent(c)} AS VARCHAR) AS ${quoteIdent(c)}`).join(', ');
    reader = await duck.conn.runAndReadAll(`SELECT ${select} FROM ${source}`);
    const raw = reader.getColumnsObjectJS();
    const columns: Record<string, string[]> = {};
    for (const c of names) columns[c] = (raw[c] ?? []).map((v) => (v === null ? '' : String(v)));
    return { names, columns, n: reader.currentRowCount, separator };
  } catch (cause) {
    throw new SluiceError('SLUICE_ERR_DATA_INVALID', `input ${path}: expected a readable ${parquet ? 'Parquet' : 'CSV'} file, found one DuckDB could not read`, {
      cause,
    });
  }
}

async function writeTable(duck: Duck, table: Table, path: string): Promise<void> {
  const parquet = extname(path).toLowerCase() === '.parquet';
  const cols = table.names.map((c) => `${quoteIdent(c)} VARCHAR`).join(', ');
  await duck.conn.run(`CREATE OR REPLACE TEMP TABLE sluice_anonymized (${cols})`);
  const appender = await duck.conn.createAppender('sluice_anonymized');
  try {
    const arrays = table.names.map((c) => table.columns[c]!);
    for (let r = 0; r < table.n; r++) {
      for (const a of arrays) appender.appendVarchar(a[r]!);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  const format = parquet ? '(FORMAT parquet)' : `(FORMAT csv, HEADER true, DELIMITER ${quoteLiteral(table.separator)})`;
  await duck.conn.run(`COPY sluice_anonymized TO ${quoteLiteral(path)} ${format}`);
  await duck.conn.run('DROP TABLE sluice_anonymized');
}

async function buildHierarchy(spec: HierarchySpec, values: string[], column: string, baseDir: string): Promise<Hierarchy> {
  if ('arx' in spec) {
    const path = isAbsolute(spec.arx) ? spec.arx : resolve(baseDir, spec.arx);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      throw new SluiceError('SLUICE_ERR_NOT_FOUND', `hierarchy of column ${column}: expected a readable file at ${path}, found none`, { cause });
    }
    return parseArxHierarchy(text, spec.separator ?? ';', `hierarchy ${path}`);
  }
  switch (spec.builtin) {
    case 'age':
      return ageHierarchy(values, spec.bands);
    case 'date':
      return dateHierarchy(values);
    case 'area-code':
      return areaCodeHierarchy(values);
    case 'address':
      return addressHierarchy(values);
    case 'interval':
      return intervalHierarchy(values, spec.widths);
    case 'ordered':
      return orderedHierarchy(values, spec.order, spec.fanouts);
    case 'unordered':
      return unorderedHierarchy(values, spec.groups);
  }
}

/** Classes of the rows on the given (string) columns; rows flagged in `suppressed` are left out. */
function partitionOf(columns: string[][], n: number, suppressed?: Uint8Array): { sizes: number[]; suppressed: number } {
  const counts = new Map<string, number>();
  let sup = 0;
  for (let r = 0; r < n; r++) {
    if (suppressed?.[r]) {
      sup++;
      continue;
    }
    let key = '';
    for (const c of columns) key += c[r]! + '\u0000';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { sizes: [...counts.values()], suppressed: sup };
}

async function runMondrian(
  data: AnonymizationData,
  config: AnonymizeConfig,
  threads: number | undefined,
): Promise<{ columns: Record<string, string[]>; loss: number }> {
  // resolved at run time so that the optimal path works without Mondrian's workers
  const mod = (await import('./mondrian.js')) as { mondrian: (i: MondrianInput, o: { k: number; relaxed?: boolean; threads?: number }) => Promise<MondrianResult> };
  const orders = data.quasiIdentifiers.map((q) => leafOrder(q.hierarchy));
  const input: MondrianInput = {
    n: data.n,
    columns: data.quasiIdentifiers.map((q, a) => {
      const pos = new Map(orders[a]!.map((v, i) => [v, i]));
      const codes = new Int32Array(data.n);
      for (let r = 0; r < data.n; r++) codes[r] = pos.get(q.hierarchy.rows[q.codes[r]!]![0]!)!;
      return { name: q.name, codes, cardinality: orders[a]!.length };
    }),
  };
  const options: { k: number; relaxed?: boolean; threads?: number } = { k: config.k, relaxed: config.method === 'mondrian-relaxed' };
  if (threads !== undefined) options.threads = threads;
  const result = await mod.mondrian(input, options);
  const columns: Record<string, string[]> = {};
  const numerators: number[] = [];
  data.quasiIdentifiers.forEach((q, a) => {
    const order = orders[a]!;
    const h = q.hierarchy;
    const rowOf = new Map(h.rows.map((row, i) => [row[0]!, row]));
    const numeric = order.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
    // hierarchy rows under each label at each level: the share of a label
    const under = Array.from({ length: h.height }, (_, l) => {
      const m = new Map<string, number>();
      for (const row of h.rows) m.set(row[l]!, (m.get(row[l]!) ?? 0) + 1);
      return m;
    });
    const labels = result.classes.map((cl) => {
      const lo = cl.lo[a]!;
      const hi = cl.hi[a]!;
      if (lo === hi) return { label: order[lo]!, share: 1 };
      if (numeric) return { label: `${order[lo]}-${order[hi]}`, share: hi - lo + 1 };
      // a categorical range is published as its lowest common ancestor in the hierarchy
      for (let l = 1; l < h.height; l++) {
        const v = rowOf.get(order[lo]!)![l]!;
        let same = true;
        for (let i = lo + 1; i <= hi && same; i++) same = rowOf.get(order[i]!)![l] === v;
        if (same) return { label: v, share: under[l]!.get(v)! };
      }
      return { label: '*', share: h.rows.length };
    });
    const out = new Array<string>(data.n);
    let num = 0;
    for (let r = 0; r < data.n; r++) {
      const lab = labels[result.classOf[r]!]!;
      out[r] = lab.label;
      num += lab.share;
    }
    columns[q.name] = out;
    numerators.push(num);
  });
  const loss = arxLoss(
    data.n,
    data.quasiIdentifiers.map((q, a) => ({ domainSize: q.hierarchy.rows.length, shareNumerator: numerators[a]! })),
  );
  return { columns, loss };
}

/**
 * Reads `inputPath` (CSV with `;` or `,` auto-detected from the header line,
 * or Parquet by extension), anonymizes it with `config` (validated here), writes
 * the result to `options.outputPath` when given (every input column, the
 * quasi-identifiers replaced), and returns metrics and risk before and after.
 *
 * Direct identifiers never reach the output: every column is scanned by content
 * ({@link scanDirectIdentifiers}; quasi-identifiers as generalized), and the
 * config may declare more (`declaredIdentifiers`). With `directIdentifiers:
 * refuse` (the default) any such column fails the call with
 * SLUICE_ERR_ANON_DIRECT_IDENTIFIER naming the columns and what was found (counts,
 * never values), whether or not an output is written, since the risk figures
 * assume the identifiers gone; with `drop` the other columns are left out and
 * listed in `droppedColumns`. A quasi-identifier or sensitive column that holds
 * identifiers is refused in both modes: it cannot be dropped without changing
 * what was asked.
 * Throws SLUICE_ERR_ANON_UNSATISFIABLE when the models cannot be met.
 */
export async function anonymizeFile(
  inputPath: string,
  config: AnonymizeConfigInput | AnonymizeConfig,
  options: AnonymizeFileOptions = {},
): Promise<AnonymizeFileResult> {
  const cfg = parseAnonymizeConfig(config);
  const duck = await openDuck({ threads: 1 });
  try {
    const table = await readTable(duck, inputPath);
    for (const name of [...cfg.quasiIdentifiers.map((q) => q.column), ...(cfg.sensitive ?? []), ...(cfg.declaredIdentifiers ?? [])]) {
      if (!(name in table.columns)) {
        throw new SluiceError('SLUICE_ERR_ANON_CONFIG_INVALID', `column ${name}: expected in ${inputPath}, found no such column (${table.names.length} columns)`);
      }
    }
    // Direct identifiers outside the quasi-identifiers: known before any work is done.
    const qiSet = new Set(cfg.quasiIdentifiers.map((q) => q.column));
    const declared = new Set(cfg.declaredIdentifiers ?? []);
    const identifierColumns: IdentifierColumn[] = [];
    for (const name of table.names) {
      if (qiSet.has(name)) continue;
      const found = scanDirectIdentifiers(table.columns[name]!);
      if (declared.has(name) || Object.keys(found).length > 0) {
        identifierColumns.push({ column: name, declared: declared.has(name), found, role: cfg.sensitive?.includes(name) ? 'sensitive' : 'other' });
      }
    }
    // An identifier split over two columns (an ID number's first and last nine digits) is found as a pair.
    for (const split of scanSplitIdentifiers(table.columns, table.names.filter((c) => !qiSet.has(c)))) {
      for (const [col, other] of [split.columns, [split.columns[1], split.columns[0]]] as const) {
        const existing = identifierColumns.find((c) => c.column === col);
        const found = { [split.kind]: split.rows } as DirectIdentifierCounts;
        if (existing) {
          if (Object.keys(existing.found).length === 0) existing.found = found;
          existing.joinedWith ??= other;
        } else {
          identifierColumns.push({ column: col, declared: declared.has(col), found, role: cfg.sensitive?.includes(col) ? 'sensitive' : 'other', joinedWith: other });
        }
      }
    }
    const sensitiveIds = identifierColumns.filter((c) => c.role !== 'other');
    if (sensitiveIds.length > 0) refuseIdentifiers(inputPath, sensitiveIds, false);
    if (identifierColumns.length > 0 && cfg.directIdentifiers === 'refuse') refuseIdentifiers(inputPath, identifierColumns, true);

    const baseDir = options.baseDir ?? process.cwd();
    const qis = await Promise.all(
      cfg.quasiIdentifiers.map(async (q) => ({
        column: q.column,
        hierarchy: await buildHierarchy(q.hierarchy, [...new Set(table.columns[q.column]!)], q.column, baseDir),
      })),
    );
    const data = encodeData(table.columns, cfg.sensitive === undefined ? { quasiIdentifiers: qis } : { quasiIdentifiers: qis, sensitive: cfg.sensitive });
    const qiNames = qis.map((q) => q.column);
    const rawPart = partitionOf(qiNames.map((c) => table.columns[c]!), data.n);
    const before = riskAndMetrics({ n: data.n, sizes: rawPart.sizes, suppressed: 0 }, 0);

    const generalizedColumns: Record<string, string> = {};
    let outColumns: Record<string, string[]>;
    let loss: number;
    let suppressedRows: Uint8Array | undefined;
    let levels: Record<string, number> | undefined;
    if (cfg.method === 'optimal') {
      const models: Parameters<typeof optimalKAnonymize>[1] = { k: cfg.k, suppressionLimit: cfg.suppressionLimit, metric: cfg.metric };
      if (cfg.l !== undefined) models.l = cfg.l.c === undefined ? { variant: cfg.l.variant, l: cfg.l.l } : { variant: cfg.l.variant, l: cfg.l.l, c: cfg.l.c };
      if (cfg.t !== undefined) models.t = cfg.t;
      const result = optimalKAnonymize(data, models);
      const applied = applyGeneralization(data, result.levels, result.suppressedRows);
      outColumns = applied.columns;
      loss = result.loss;
      suppressedRows = result.suppressedRows;
      levels = {};
      for (const [a, q] of qis.entries()) {
        levels[q.column] = result.levels[a]!;
        generalizedColumns[q.column] = `level ${result.levels[a]} of 0..${q.hierarchy.height - 1}`;
      }
    } else {
      const m = await runMondrian(data, cfg, options.threads);
      outColumns = m.columns;
      loss = m.loss;
      for (const q of qis) generalizedColumns[q.column] = cfg.method === 'mondrian' ? 'mondrian ranges' : 'mondrian ranges (relaxed)';
    }
    // A quasi-identifier left at a level that still shows an identifier (an ID column at level 0) is refused.
    const qiIds: IdentifierColumn[] = [];
    for (const q of qiNames) {
      const released = outColumns[q]!.filter((_, r) => !suppressedRows?.[r]);
      const found = scanDirectIdentifiers(released);
      if (Object.keys(found).length > 0) qiIds.push({ column: q, declared: false, found, role: 'quasi-identifier' });
    }
    if (qiIds.length > 0) refuseIdentifiers(inputPath, qiIds, false);

    const afterPart = partitionOf(qiNames.map((c) => outColumns[c]!), data.n, suppressedRows);
    const after = riskAndMetrics({ n: data.n, sizes: afterPart.sizes, suppressed: afterPart.suppressed }, loss);

    if (options.outputPath !== undefined) {
      const dropped = new Set(identifierColumns.map((c) => c.column));
      const out: Table = { ...table, names: table.names.filter((c) => !dropped.has(c)), columns: { ...table.columns, ...outColumns } };
      await writeTable(duck, out, options.outputPath);
    }
    const droppedColumns: AnonymizeFileResult['droppedColumns'] = {};
    for (const c of identifierColumns) droppedColumns[c.column] = { declared: c.declared, found: c.found, ...(c.joinedWith !== undefined ? { joinedWith: c.joinedWith } : {}) };
    if (identifierColumns.length > 0) {
      log.warn('anonymize.dropped-identifiers', { reason: 'direct-identifier', columns: identifierColumns.map((c) => c.column).join(','), input: inputPath });
    }
    const res: AnonymizeFileResult = { before, after, suppressed: afterPart.suppressed, generalizedColumns, method: cfg.method, droppedColumns };
    if (levels !== undefined) res.levels = levels;
    return res;
  } finally {
    duck.close();
  }
}
