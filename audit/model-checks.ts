/**
 * The trained-model half of the non-restoration audit (AUDIT.md §C, checks
 * C1–C6), after SACRO-ML's model checks and attacks, ML Privacy Meter's
 * reference-model attack and TF Privacy's metrics. Produces CheckResults for
 * the same report, statuses and gate as the table and extract checks. Results
 * carry counts, rates, AUCs and column names, never a data value; plots carry
 * ROC points and score histograms (attack scores, not data).
 *
 * Members are the model's training rows and non-members the held-out rows
 * recorded for the attacks. Declared target records ("canaries") sharpen the
 * membership checks: a handful of rare records inserted into training vanish
 * among thousands of members in a population-wide attack (20 canaries among
 * 24,000 members move TPR at 1% FPR by less than 0.001), so an audit that must
 * catch them aims the same attacks at the canaries themselves, against twins
 * drawn the same way but held out of training — the standard design of
 * privacy auditing (Carlini et al.'s secret sharer; Jagielski et al. 2020;
 * Steinke et al. 2023). C4 and C5 then report the worse of the population-wide
 * and the targeted attack.
 */
import type { Status } from '../lib/vocabulary.js';
import { worstStatus } from '../lib/vocabulary.js';
import type { Dataset } from '../models/dataset.js';
import { SeededRandom, deriveSeed, subset } from '../models/dataset.js';
import { verifyArtifact } from '../models/artifact.js';
import { canonicalJson } from '../models/artifact.js';
import { train as trainModel, type TrainRecipe, type TrainedModel } from '../models/train.js';
import { downsampleCurve, type AttackEvaluation } from '../models/roc.js';
import { ruleBasedAttack } from '../models/attacks/rule-based.js';
import { modelOutputs, type QueryableModel } from '../models/attacks/loss-threshold.js';
import { repeatedMembershipAttacks, type RepeatedAttackSummary } from '../models/attacks/learned.js';
import { rmiaAttack, type ReferenceTrainer, type RmiaResult } from '../models/attacks/rmia.js';
import { attributeInference, type AttributeInferenceResult } from '../models/attacks/attribute-inference.js';
import { modelStructure, scanSerialized, type ModelStructure } from '../models/structure.js';
import type { CheckResult } from './types.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './thresholds.js';

/** The threshold groups the model audit reads (a subset of {@link Thresholds}). */
export type ModelThresholds = Pick<Thresholds, 'C1' | 'C2' | 'C3' | 'C4' | 'C5' | 'C6'>;

/** What {@link auditModel} audits. */
export interface ModelAuditInput {
  /** The serialized artifact as stored (a `sluice-model/1` JSON object). Scanned, hash-verified and compared with `recipe`. */
  artifact: unknown;
  /** The model the artifact holds, ready to query. */
  model: TrainedModel;
  /** Its training rows (members), encoded. */
  train: Dataset;
  /** Held-out rows (non-members), encoded like `train`. */
  test: Dataset;
  /** Population rows disjoint from `train` and `test`, for C5's reference models and samples; default: a seeded half of `test` (the other half are C5's non-member candidates). */
  population?: Dataset;
  /** Declared sensitive source columns (feature `source` names with one-hot features) for C6. */
  sensitive?: string[];
  /** The recipe the job declared; compared with the artifact's. */
  recipe: TrainRecipe;
  /** Seed of every random choice of the audit. */
  seed: number;
  /**
   * Declared target records: `members` are rare records inserted into the
   * training set (each distinct record once, however often it was inserted),
   * `nonMembers` records drawn the same way and held out. C4 and C5 also attack
   * these (see the module doc).
   */
  canaries?: { members: Dataset; nonMembers: Dataset };
}

/** Technical options (not policy thresholds). */
export interface ModelAuditOptions {
  /** C4 repetitions; default `thresholds.C4.repetitions`. Fewer is allowed only here (quick runs) and is recorded in the parameters. */
  repetitions?: number;
  /** C5 reference models; default `thresholds.C5.minReferenceModels` (never fewer than 2). */
  referenceModels?: number;
  /** C5 population samples z at most. Default 5000. */
  maxPopulationSamples?: number;
  /** C6 members and non-members attacked at most (each). Default 5000. */
  maxAttributeRows?: number;
  /** Worker threads for retraining forests in C5. Default: the trainer's default. */
  threads?: number;
  /** Retrains the recipe for C5 (default: models/train.ts's `train` with the recipe and a derived seed). */
  trainReference?: ReferenceTrainer;
}

type Metrics = CheckResult['metrics'];

function num(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function round(v: number, digits = 6): number | null {
  if (!Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function check(id: string, name: string, status: Status, summary: string, metrics: Metrics, parameters: CheckResult['parameters'], extra: Partial<CheckResult> = {}): CheckResult {
  return { id, name, status, summary, columns: [], metrics, parameters, ...extra };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** C1: instance-based model, training rows or identifier values in the serialized artifact. */
function checkStoredRows(input: ModelAuditInput, structure: ModelStructure, t: ModelThresholds): CheckResult {
  const scan = scanSerialized(input.artifact, input.train);
  const reasons: string[] = [];
  if (structure.instanceBased) reasons.push(`instance-based model (${structure.kind}) keeps its training rows`);
  if (scan.trainingRowsFound > 0) reasons.push(`${scan.trainingRowsFound} of ${scan.trainingRowsSearched} training rows found verbatim in the artifact`);
  if (scan.identifiersFound > 0) reasons.push(`${scan.identifiersFound} identifier-shaped values in the artifact`);
  const status: Status = reasons.length > 0 ? t.C1.status : 'pass';
  return check(
    'C1',
    'stored rows',
    status,
    reasons.length > 0 ? reasons.join('; ') : `no training row (${scan.trainingRowsSearched} searched) or identifier value in ${scan.numbersScanned} serialized numbers`,
    {
      instanceBased: structure.instanceBased,
      trainingRowsFound: scan.trainingRowsFound,
      trainingRowsSearched: scan.trainingRowsSearched,
      numericRuns: scan.numericRuns,
      numbersScanned: scan.numbersScanned,
      identifiersFound: scan.identifiersFound,
      residentIdsFound: scan.identifiers['resident-id'],
      creditCodesFound: scan.identifiers['credit-code'],
      mobilesFound: scan.identifiers.mobile,
      bankCardsFound: scan.identifiers['bank-card'],
      emailsFound: scan.identifiers.email,
    },
    { status: t.C1.status, minNonZero: 2 },
  );
}

/** C2: hyperparameter rules and the integrity of what the artifact records. */
function checkHyperparameters(input: ModelAuditInput, structure: ModelStructure, t: ModelThresholds): CheckResult {
  const art = isRecord(input.artifact) ? input.artifact : {};
  const artRecipe = isRecord(art['recipe']) ? art['recipe'] : {};
  const artHp = isRecord(artRecipe['hyperparameters']) ? artRecipe['hyperparameters'] : {};
  const modelJson = isRecord(art['model']) ? art['model'] : {};
  const resolved = isRecord(modelJson['params']) ? modelJson['params'] : {};
  const fails: string[] = [];
  const reviews: string[] = [];
  const hashOk = verifyArtifact(input.artifact);
  if (!hashOk) fails.push('artifact hash does not match its content');
  const recipeMatches =
    artRecipe['kind'] === input.recipe.kind &&
    artRecipe['seed'] === input.recipe.seed &&
    canonicalJson(artHp) === canonicalJson(input.recipe.hyperparameters ?? {}) &&
    art['kind'] === input.recipe.kind;
  if (!recipeMatches) fails.push('declared recipe differs from the recipe the artifact records');
  // Every hyperparameter the recipe sets must be the one the fitted model records.
  const differing = Object.keys(artHp).filter((k) => k in resolved && canonicalJson(resolved[k]) !== canonicalJson(artHp[k]));
  if (differing.length > 0) fails.push(`recorded hyperparameters differ from the fitted model's: ${differing.join(', ')}`);
  const kind = input.recipe.kind;
  const isTree = kind === 'tree' || kind === 'forest';
  const minLeaf = structure.recordedMinSamplesLeaf;
  if (isTree) {
    if (minLeaf !== null && minLeaf < t.C2.minLeafSize) reviews.push(`min_samples_leaf ${minLeaf} < ${t.C2.minLeafSize}`);
    if (minLeaf !== null && structure.minLeafRouted !== null && structure.minLeafRouted < minLeaf) {
      fails.push(`a leaf holds ${structure.minLeafRouted} training rows, fewer than the recorded min_samples_leaf ${minLeaf}`);
    }
    if (minLeaf !== null && structure.minLeafRecorded !== null && structure.minLeafRecorded < minLeaf) {
      fails.push(`a leaf records ${structure.minLeafRecorded} training rows, fewer than the recorded min_samples_leaf ${minLeaf}`);
    }
  }
  if (kind === 'forest' && t.C2.requireBootstrap && structure.recordedBootstrap === false) reviews.push('forest trained without bootstrap');
  const status: Status = fails.length > 0 ? 'fail' : reviews.length > 0 ? 'review' : 'pass';
  return check(
    'C2',
    'hyperparameters',
    status,
    [...fails, ...reviews].join('; ') || `hyperparameters within the rules and as recorded (${kind})`,
    {
      kind,
      hashVerified: hashOk,
      recipeMatches,
      hyperparametersDiffering: differing.length,
      minSamplesLeaf: minLeaf,
      bootstrap: structure.recordedBootstrap,
      smallestLeafRouted: structure.minLeafRouted,
      smallestLeafRecorded: structure.minLeafRecorded,
    },
    { minLeafSize: t.C2.minLeafSize, requireBootstrap: t.C2.requireBootstrap },
  );
}

function leafHistogram(sizes: number[]): Array<[number, number]> {
  const edges = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 30, 50, 100, 200, 500, 1000, 5000];
  const counts = new Array<number>(edges.length).fill(0);
  for (const s of sizes) {
    let b = 0;
    while (b + 1 < edges.length && s >= edges[b + 1]!) b++;
    if (s >= 1) counts[b]!++;
  }
  return edges.map((e, i) => [e, counts[i]!] as [number, number]).filter(([, c], i) => c > 0 || i < 10);
}

/** C3: leaf sizes and residual degrees of freedom. */
function checkStructure(structure: ModelStructure, t: ModelThresholds): CheckResult {
  const sizes = structure.trees.flatMap((tr) => tr.routed);
  const below = (x: number): number => sizes.filter((s) => s < x).length;
  const leavesFail = below(t.C3.leafFailBelow);
  const leavesReview = below(t.C3.leafReviewBelow);
  const dof = structure.degreesOfFreedom;
  const fails: string[] = [];
  const reviews: string[] = [];
  if (leavesFail > 0) fails.push(`${leavesFail} leaves hold fewer than ${t.C3.leafFailBelow} training rows (smallest ${structure.minLeafRouted})`);
  else if (leavesReview > 0) reviews.push(`${leavesReview} leaves hold fewer than ${t.C3.leafReviewBelow} training rows (smallest ${structure.minLeafRouted})`);
  if (dof < t.C3.minDof) fails.push(`residual degrees of freedom ${Math.round(dof)} < ${t.C3.minDof} (${structure.trainingRows} rows, ${Math.round(structure.parameters)} parameters)`);
  const status: Status = fails.length > 0 ? 'fail' : reviews.length > 0 ? 'review' : 'pass';
  const series = sizes.length > 0 ? { series: { leafSizeHistogram: leafHistogram(sizes) } } : {};
  return check(
    'C3',
    'structure',
    status,
    [...fails, ...reviews].join('; ') ||
      (sizes.length > 0
        ? `smallest of ${sizes.length} leaves holds ${structure.minLeafRouted} training rows; ${Math.round(dof)} residual degrees of freedom`
        : `${Math.round(dof)} residual degrees of freedom (${Math.round(structure.parameters)} parameters)`),
    {
      trees: structure.trees.length,
      leaves: sizes.length,
      smallestLeaf: structure.minLeafRouted,
      leavesBelowFail: leavesFail,
      leavesBelowReview: leavesReview,
      trainingRows: structure.trainingRows,
      parameters: round(structure.parameters, 2),
      parametersSummed: structure.parametersSummed,
      degreesOfFreedom: round(dof, 2),
    },
    { leafFailBelow: t.C3.leafFailBelow, leafReviewBelow: t.C3.leafReviewBelow, failBelow: t.C3.leafFailBelow, minDof: t.C3.minDof },
    series,
  );
}

/** Histograms of member and non-member attack scores over shared bins (20 between the pooled min and max). */
export function scoreHistograms(members: ArrayLike<number>, nonMembers: ArrayLike<number>, bins = 20): { scoreHistogramMembers: Array<[number, number]>; scoreHistogramNonMembers: Array<[number, number]> } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const xs of [members, nonMembers]) for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!(hi >= lo)) return { scoreHistogramMembers: [], scoreHistogramNonMembers: [] };
  const width = hi > lo ? (hi - lo) / bins : 1;
  const fill = (xs: ArrayLike<number>): Array<[number, number]> => {
    const c = new Array<number>(bins).fill(0);
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i]!;
      if (!Number.isFinite(v)) continue;
      c[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
    }
    return c.map((n, b) => [round(lo + b * width, 6) ?? 0, n] as [number, number]);
  };
  return { scoreHistogramMembers: fill(members), scoreHistogramNonMembers: fill(nonMembers) };
}

interface AttackVerdict {
  label: string;
  summary: RepeatedAttackSummary;
}

/** C4: repeated loss-threshold and learned attacks, on all members and on declared canaries. */
function checkMembershipInference(input: ModelAuditInput, t: ModelThresholds, options: ModelAuditOptions): CheckResult {
  const repetitions = options.repetitions ?? t.C4.repetitions;
  const fprs = [t.C4.fpr, 0.001];
  const members = modelOutputs(input.model, input.train);
  const nonMembers = modelOutputs(input.model, input.test);
  const targets = input.canaries
    ? { members: modelOutputs(input.model, input.canaries.members), nonMembers: modelOutputs(input.model, input.canaries.nonMembers) }
    : undefined;
  const r = repeatedMembershipAttacks(members, nonMembers, { repetitions, seed: deriveSeed(input.seed, 4), fprs, alpha: t.C4.pValue }, targets);
  const rule = ruleBasedAttack(input.model, input.train, input.test);
  const verdicts: AttackVerdict[] = [
    { label: 'loss-threshold', summary: r.loss },
    { label: 'learned', summary: r.learned },
  ];
  if (r.targets) verdicts.push({ label: 'loss-threshold on canaries', summary: r.targets.loss }, { label: 'learned on canaries', summary: r.targets.learned });
  const statusOf = (s: RepeatedAttackSummary): Status =>
    s.meanAuc > t.C4.aucFail || s.medianTprAtFpr[0]! >= t.C4.tprFail ? 'fail' : s.significantShare > t.C4.significantShareReview ? 'review' : 'pass';
  const statuses = verdicts.map((v) => statusOf(v.summary));
  const status = worstStatus(statuses);
  // The plotted attack is the worst one: highest status, then highest mean AUC.
  const rank = (s: Status): number => (s === 'fail' ? 2 : s === 'review' ? 1 : 0);
  let worst = 0;
  verdicts.forEach((v, i) => {
    const w = verdicts[worst]!;
    if (rank(statuses[i]!) > rank(statuses[worst]!) || (rank(statuses[i]!) === rank(statuses[worst]!) && v.summary.meanAuc > w.summary.meanAuc)) worst = i;
  });
  const w = verdicts[worst]!;
  const metrics: Metrics = {
    repetitions,
    members: input.train.n,
    nonMembers: input.test.n,
    worstAttack: w.label,
    meanAuc: round(w.summary.meanAuc),
    significantShare: round(w.summary.significantShare),
    medianTprAt1pctFpr: round(w.summary.medianTprAtFpr[0]!),
    medianTprAt01pctFpr: round(w.summary.medianTprAtFpr[1]!),
    ruleBasedAdvantage: round(rule.advantage),
    trainAccuracy: round(rule.tpr),
    testAccuracy: round(rule.fpr),
  };
  const keyOf = (label: string): string => label.replace(/ on canaries/, 'Canaries').replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
  for (const v of verdicts) {
    const k = keyOf(v.label);
    metrics[`${k}.meanAuc`] = round(v.summary.meanAuc);
    metrics[`${k}.minAuc`] = round(v.summary.minAuc);
    metrics[`${k}.maxAuc`] = round(v.summary.maxAuc);
    metrics[`${k}.significantShare`] = round(v.summary.significantShare);
    metrics[`${k}.medianTprAt1pctFpr`] = round(v.summary.medianTprAtFpr[0]!);
    metrics[`${k}.medianTprAt01pctFpr`] = round(v.summary.medianTprAtFpr[1]!);
    metrics[`${k}.meanAdvantage`] = round(v.summary.meanAdvantage);
  }
  if (input.canaries) {
    metrics['canaryMembers'] = input.canaries.members.n;
    metrics['canaryNonMembers'] = input.canaries.nonMembers.n;
  }
  const rep = w.summary.representative;
  const summary =
    `worst attack ${w.label}: mean AUC ${w.summary.meanAuc.toFixed(3)} over ${repetitions} repetitions, ` +
    `${Math.round(w.summary.significantShare * 100)}% significant at p < ${t.C4.pValue}, median TPR ${w.summary.medianTprAtFpr[0]!.toFixed(3)} at ${t.C4.fpr * 100}% FPR` +
    (repetitions < t.C4.repetitions ? ` (quick run: ${repetitions} of ${t.C4.repetitions} repetitions)` : '');
  return check('C4', 'membership inference', status, summary, metrics, { ...t.C4, repetitionsRun: repetitions, aucNullSigma: round(rep.sigma0) }, {
    series: { roc: downsampleCurve(rep.curve, 200), ...scoreHistograms(rep.memberScores, rep.nonMemberScores) },
  });
}

function rmiaStatus(e: AttackEvaluation, epsilon: number, t: ModelThresholds): Status {
  return e.auc > t.C5.aucFail || e.tprAtFpr[0]! >= t.C5.tprFail || epsilon > t.C5.epsilonFail ? 'fail' : 'pass';
}

/** C5: RMIA with reference models retrained by the recipe. */
async function checkReferenceAttack(input: ModelAuditInput, t: ModelThresholds, options: ModelAuditOptions): Promise<CheckResult> {
  const R = Math.max(2, t.C5.minReferenceModels, options.referenceModels ?? 0);
  const trainReference: ReferenceTrainer =
    options.trainReference ??
    (async (data, seed): Promise<QueryableModel> =>
      trainModel({ ...input.recipe, seed }, data, options.threads === undefined ? {} : { threads: options.threads }));
  // Without a separate population the held-out rows are split in two: reference data and z samples, and non-member candidates.
  let population = input.population;
  let candidates = input.test;
  if (population === undefined || population === input.test) {
    const rng = new SeededRandom(deriveSeed(input.seed, 51));
    const order = Array.from({ length: input.test.n }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const half = order.length >> 1;
    population = subset(input.test, order.slice(0, half).sort((x, y) => x - y));
    candidates = subset(input.test, order.slice(half).sort((x, y) => x - y));
  }
  const res: RmiaResult = await rmiaAttack(
    {
      model: input.model,
      members: input.train,
      nonMembers: candidates,
      population,
      trainReference,
      ...(input.canaries ? { targets: input.canaries } : {}),
    },
    { referenceModels: R, fprs: [t.C5.fpr, 0.001], seed: deriveSeed(input.seed, 5), maxPopulationSamples: options.maxPopulationSamples ?? 5000 },
  );
  const e = res.evaluation;
  const popStatus = rmiaStatus(e, res.epsilon.epsilon, t);
  const tStatus = res.targets ? rmiaStatus(res.targets.evaluation, res.targets.epsilon.epsilon, t) : 'pass';
  const status = worstStatus([popStatus, tStatus]);
  const metrics: Metrics = {
    referenceModels: res.referenceModels,
    referenceTrainingRows: res.referenceTrainingRows.join(','),
    populationFromHeldOut: input.population === undefined || input.population === input.test,
    populationSamples: res.populationSamples,
    members: e.nMembers,
    nonMembers: e.nNonMembers,
    auc: round(e.auc),
    pValue: num(e.pValue),
    tprAt1pctFpr: round(e.tprAtFpr[0]!),
    tprAt01pctFpr: round(e.tprAtFpr[1]!),
    advantage: round(e.advantage),
    epsilonLowerBound: round(res.epsilon.epsilon),
    epsilonDirection: res.epsilon.direction,
  };
  if (res.targets) {
    const te = res.targets.evaluation;
    Object.assign(metrics, {
      'canaries.auc': round(te.auc),
      'canaries.pValue': num(te.pValue),
      'canaries.tprAt1pctFpr': round(te.tprAtFpr[0]!),
      'canaries.advantage': round(te.advantage),
      'canaries.epsilonLowerBound': round(res.targets.epsilon.epsilon),
    });
  }
  const shown = res.targets && tStatus === 'fail' && popStatus !== 'fail' ? { e: res.targets.evaluation, eps: res.targets.epsilon.epsilon, what: 'on canaries' } : { e, eps: res.epsilon.epsilon, what: 'on all members' };
  const summary = `RMIA with ${R} reference models ${shown.what}: AUC ${shown.e.auc.toFixed(3)}, TPR ${shown.e.tprAtFpr[0]!.toFixed(3)} at ${t.C5.fpr * 100}% FPR, empirical ε ≥ ${shown.eps.toFixed(2)}`;
  const plotted = shown.e === e ? { m: res.memberScores, n: res.nonMemberScores } : null;
  return check('C5', 'reference-model attack', status, summary, metrics, { ...t.C5, referenceModelsRun: R, gamma: 1, confidence: 0.95 }, {
    series: { roc: downsampleCurve(shown.e.curve, 200), ...(plotted ? scoreHistograms(plotted.m, plotted.n) : {}) },
  });
}

/** C6: attribute inference on each declared sensitive column. */
function checkAttributeInference(input: ModelAuditInput, t: ModelThresholds, options: ModelAuditOptions): CheckResult {
  const sensitive = input.sensitive ?? [];
  if (sensitive.length === 0) {
    return check('C6', 'attribute inference', 'pass', 'no sensitive column declared; attribute inference not run', { ran: false }, { ...t.C6 });
  }
  const results: AttributeInferenceResult[] = sensitive.map((s) =>
    attributeInference(input.model, input.train, input.test, s, { maxRows: options.maxAttributeRows ?? 5000, seed: deriveSeed(input.seed, 6) }),
  );
  const statusOf = (r: AttributeInferenceResult): Status => (r.ratio > t.C6.ratioFail && r.gain >= t.C6.gainFail ? 'fail' : r.ratio > t.C6.ratioReview ? 'review' : 'pass');
  const statuses = results.map(statusOf);
  const status = worstStatus(statuses);
  const metrics: Metrics = { ran: true };
  for (const r of results) {
    metrics[`${r.source}.candidates`] = r.candidates;
    metrics[`${r.source}.memberRate`] = round(r.memberRate);
    metrics[`${r.source}.nonMemberRate`] = round(r.nonMemberRate);
    metrics[`${r.source}.ratio`] = round(r.ratio);
    metrics[`${r.source}.gain`] = round(r.gain);
    metrics[`${r.source}.baselineRate`] = round(r.baselineRate);
    metrics[`${r.source}.members`] = r.nMembers;
    metrics[`${r.source}.nonMembers`] = r.nNonMembers;
  }
  const worst = results.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const summary = results
    .map((r, i) => `${r.source}: members ${(r.memberRate * 100).toFixed(1)}% vs non-members ${(r.nonMemberRate * 100).toFixed(1)}% (ratio ${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : '∞'}, ${statuses[i]})`)
    .join('; ');
  return check('C6', 'attribute inference', status, summary, { ...metrics, worstColumn: worst.source }, { ...t.C6 }, { columns: [...sensitive] });
}

/**
 * Runs C1–C6 on a trained model and returns one CheckResult per check, in
 * order. C1–C3 read the serialized artifact and the structure; C4 runs
 * `thresholds.C4.repetitions` (or `options.repetitions`) repetitions of the
 * loss-threshold and learned attacks; C5 retrains the recipe
 * `thresholds.C5.minReferenceModels` times for RMIA; C6 attacks each declared
 * sensitive column. Deterministic for a given seed.
 */
export async function auditModel(
  input: ModelAuditInput,
  thresholds: ModelThresholds = DEFAULT_THRESHOLDS,
  options: ModelAuditOptions = {},
): Promise<CheckResult[]> {
  const art = isRecord(input.artifact) ? input.artifact : {};
  const kind = typeof art['kind'] === 'string' ? art['kind'] : input.recipe.kind;
  const structure = modelStructure(kind, art['model'], input.train, input.model.classes.length);
  return [
    checkStoredRows(input, structure, thresholds),
    checkHyperparameters(input, structure, thresholds),
    checkStructure(structure, thresholds),
    checkMembershipInference(input, thresholds, options),
    await checkReferenceAttack(input, thresholds, options),
    checkAttributeInference(input, thresholds, options),
  ];
}
