import { join } from 'node:path';
import { AgreementsRepo, validateAgreement } from './agreements-repo.js';
import { forbiddenGrantError, forbiddenGrants, type ForbiddenGrant } from './grant-policy.js';
import { ArtifactsRepo, type NewArtifact } from './artifacts-repo.js';
import {
  appendAuditLog,
  auditLogHead,
  listAuditLog,
  openAuditChain,
  verifyAuditLog,
  withAuditChain,
  type AuditLogHead,
  type AuditLogInput,
  type AuditLogQuery,
  type AuditLogVerification,
} from './audit-log.js';
import { DatasetsRepo } from './datasets-repo.js';
import { describeDatabaseUrl, openDb, type Db, type OpenDbOptions } from './db.js';
import { ReleasesRepo, type AggregateTableRelease, type NewRelease } from './releases-repo.js';
import { ReportsRepo, type NewReport } from './reports-repo.js';
import { ReviewsRepo, type NewReview } from './reviews-repo.js';
import { RunsRepo, type NewRun, type RunQuery, type RunTransition, type StepPatch } from './runs-repo.js';
import type {
  Agreement,
  AgreementRecord,
  Artifact,
  AuditLogEntry,
  DatasetInfo,
  DatasetRecord,
  LineageRecord,
  Release,
  ReportRecord,
  Review,
  Run,
  RunStatus,
  ResourceOwnerKind,
  RunSummary,
  User,
  UserRecord,
  Zone,
} from './types.js';
import { loadPersonKey } from './person.js';
import { UsersRepo, type NewUser } from './users-repo.js';
import { TenancyRepo, type ResourceOwner } from './tenancy-repo.js';
import { AccessLogRepo, type AccessLogEntry, type AccessLogQuery, type NewAccessLogEntry } from './access-log-repo.js';

export type { ResourceOwner, AccessLogEntry, AccessLogQuery, NewAccessLogEntry };
export type { NewArtifact, NewRelease, NewReport, NewReview, NewRun, NewUser, RunQuery, StepPatch, AuditLogHead, AuditLogInput, AuditLogQuery, AuditLogVerification };

/** Options of {@link ControlPlane.open}: see {@link OpenDbOptions}. */
export type ControlPlaneOptions = OpenDbOptions;

/**
 * The control plane: governance state of the domain in PostgreSQL (when
 * `databaseUrl` is given) or embedded PGlite (under `<dataRoot>/control-plane`,
 * or in memory). Every method returns plain objects with camelCase fields,
 * ISO timestamps (ms) and numbers.
 *
 * Governance changes append to the audit log in the same transaction
 * (`user.create`, `user.disable`/`user.enable`, `dataset.register`,
 * `agreement.create`, `agreement.suspend`/`agreement.resume`/`agreement.terminate`, `run.create`, `report.save`,
 * `review.add`, `release.create`): callers need not log those again.
 */
export class ControlPlane {
  readonly #users: UsersRepo;
  readonly #datasets: DatasetsRepo;
  readonly #agreements: AgreementsRepo;
  readonly #runs: RunsRepo;
  readonly #artifacts: ArtifactsRepo;
  readonly #reports: ReportsRepo;
  readonly #reviews: ReviewsRepo;
  readonly #releases: ReleasesRepo;
  readonly #tenancy: TenancyRepo;
  readonly #accessLog: AccessLogRepo;

  private constructor(readonly db: Db, personKey: Buffer) {
    this.#users = new UsersRepo(db, personKey);
    this.#datasets = new DatasetsRepo(db);
    this.#agreements = new AgreementsRepo(db);
    this.#runs = new RunsRepo(db);
    this.#artifacts = new ArtifactsRepo(db);
    this.#reports = new ReportsRepo(db);
    this.#reviews = new ReviewsRepo(db);
    this.#releases = new ReleasesRepo(db);
    this.#tenancy = new TenancyRepo(db);
    this.#accessLog = new AccessLogRepo(db);
  }

  /**
   * Opens the database (migrating it) and returns the control plane. Errors as
   * {@link openDb}. The audit log's key and checkpoint are kept in
   * `<dataRoot>/keys/` (created on first use; every process sharing the
   * database must share that folder); without a data root, in this process's
   * memory, which serves tests and the in-memory database only.
   */
  static async open(options: ControlPlaneOptions): Promise<ControlPlane> {
    const db = await openDb(options);
    try {
      const chain = await openAuditChain(
        db,
        options.dataRoot !== undefined
          ? { keysDir: join(options.dataRoot, 'keys') }
          : options.databaseUrl !== undefined
            ? { memoryIdentity: `${describeDatabaseUrl(options.databaseUrl)}#${db.schema}` }
            : {},
      );
      return new ControlPlane(withAuditChain(db, chain), loadPersonKey(options.dataRoot));
    } catch (e) {
      await db.close().catch(() => undefined);
      throw e;
    }
  }

  /** Closes the database. */
  async close(): Promise<void> {
    await this.db.close();
  }

  // ------------------------------------------------------------ users

  /**
   * Creates a user bound to the person of `input.personId` (a resident ID
   * number; only its keyed token is stored); the token is returned once and
   * only its sha256 is stored.
   */
  createUser(input: NewUser, by = 'system'): Promise<{ user: UserRecord; token: string }> {
    return this.#users.createUser(input, by);
  }
  /** The active user holding `token`, or null. */
  authenticate(token: string): Promise<User | null> {
    return this.#users.authenticate(token);
  }
  /** One user, or null. */
  getUser(id: string): Promise<UserRecord | null> {
    return this.#users.getUser(id);
  }
  /** The person token of each account of `ids` bound to a person (compared in the domain, never returned by the API). */
  personsOf(ids: readonly string[]): Promise<Map<string, string>> {
    return this.#users.personsOf(ids);
  }
  /** All users. */
  listUsers(): Promise<UserRecord[]> {
    return this.#users.listUsers();
  }
  /** Disables (or re-enables) a user; returns whether the user exists. */
  setUserDisabled(id: string, disabled: boolean, by: string): Promise<boolean> {
    return this.#users.setUserDisabled(id, disabled, by);
  }

  // ------------------------------------------------------------ datasets

  /**
   * Registers (or re-registers) a dataset in the catalog. Refused with
   * SLUICE_ERR_AGREEMENT_GRANT (and the refusal logged) when an active
   * agreement grants one of its direct identifiers untreated: a new class
   * would change what that agreement lets out of raw/.
   */
  async registerDataset(info: DatasetInfo, by: string): Promise<DatasetRecord> {
    const columns = Array.isArray(info?.columns) ? info.columns : [];
    for (const a of await this.#agreements.listAgreements()) {
      if (a.status !== 'active') continue;
      const found = forbiddenGrants(a.grants, new Map([[info.name, { name: info.name, columns }]]));
      if (found.length > 0) await this.#refuseGrants(a.id, found, by, 'dataset.register.refused', info.name);
    }
    return this.#datasets.registerDataset(info, by);
  }
  /** One dataset, or null. */
  getDataset(name: string): Promise<DatasetRecord | null> {
    return this.#datasets.getDataset(name);
  }
  /** All datasets. */
  listDatasets(): Promise<DatasetRecord[]> {
    return this.#datasets.listDatasets();
  }

  // ------------------------------------------------------------ agreements

  /**
   * Validates (term ≤ 3 years, validFrom ≤ validTo, grants) and stores an
   * agreement. An agreement that grants a registered dataset's direct
   * identifier with treatment `none` is refused (SLUICE_ERR_AGREEMENT_GRANT,
   * naming dataset and column; the refusal is logged); a dataset registered
   * later is checked when it is registered.
   */
  async createAgreement(a: Agreement, by = 'system'): Promise<AgreementRecord> {
    const valid = validateAgreement(a);
    const datasets = new Map((await this.#datasets.listDatasets()).map((d) => [d.name, d]));
    const found = forbiddenGrants(valid.grants, datasets);
    if (found.length > 0) await this.#refuseGrants(valid.id, found, by, 'agreement.create.refused', valid.id);
    return this.#agreements.createAgreement(valid, by);
  }

  /** Logs a refused grant (dataset and column names, no values) and throws SLUICE_ERR_AGREEMENT_GRANT. */
  async #refuseGrants(agreementId: string, found: ForbiddenGrant[], by: string, action: string, subject: string): Promise<never> {
    const err = forbiddenGrantError(agreementId, found);
    await appendAuditLog(this.db, { actor: by, action, subject, details: { code: err.code, agreement: agreementId, grants: found.map((f) => `${f.dataset}.${f.column}`) } });
    throw err;
  }
  /** One agreement, or null. */
  getAgreement(id: string): Promise<AgreementRecord | null> {
    return this.#agreements.getAgreement(id);
  }
  /** All agreements. */
  listAgreements(): Promise<AgreementRecord[]> {
    return this.#agreements.listAgreements();
  }
  /** Marks an agreement terminated, for good (idempotent; the first reason stays). */
  terminateAgreement(id: string, by: string, reason: string | null = null): Promise<AgreementRecord> {
    return this.#agreements.terminateAgreement(id, by, reason);
  }
  /** Suspends an active agreement until it is resumed (SLUICE_ERR_CONFLICT otherwise). */
  suspendAgreement(id: string, by: string, reason: string): Promise<AgreementRecord> {
    return this.#agreements.suspendAgreement(id, by, reason);
  }
  /** Resumes a suspended agreement (SLUICE_ERR_CONFLICT otherwise; a terminated one stays terminated). */
  resumeAgreement(id: string, by: string, reason: string): Promise<AgreementRecord> {
    return this.#agreements.resumeAgreement(id, by, reason);
  }

  // ------------------------------------------------------------ runs and steps

  /** Stores a run and its steps in one transaction. */
  createRun(input: NewRun): Promise<Run> {
    return this.#runs.createRun(input);
  }
  /** A run with its steps, or null. */
  getRun(id: string): Promise<Run | null> {
    return this.#runs.getRun(id);
  }
  /** Runs, newest first. */
  listRuns(q: RunQuery = {}): Promise<RunSummary[]> {
    return this.#runs.listRuns(q);
  }
  /** Moves a run to a status unless it is terminal; returns whether it changed. */
  setRunStatus(id: string, status: RunStatus, error: { errorCode?: string; errorMessage?: string } = {}, transition: RunTransition = {}): Promise<boolean> {
    return this.#runs.setRunStatus(id, status, error, transition);
  }
  /** Patches a step; returns whether it changed. */
  updateStep(runId: string, stepId: string, patch: StepPatch): Promise<boolean> {
    return this.#runs.updateStep(runId, stepId, patch);
  }

  // ------------------------------------------------------------ artifacts and lineage

  /** Records an artifact and its lineage (idempotent on hash and zone). */
  recordArtifact(input: NewArtifact): Promise<Artifact> {
    return this.#artifacts.recordArtifact(input);
  }
  /** An artifact in a zone, or its most downstream copy. */
  getArtifact(hash: string, zone?: Zone): Promise<Artifact | null> {
    return this.#artifacts.getArtifact(hash, zone);
  }
  /** Artifacts recorded by a run. */
  listArtifactsForRun(runId: string): Promise<Artifact[]> {
    return this.#artifacts.listArtifactsForRun(runId);
  }
  /** The lineage record of a hash, or null. */
  getLineage(hash: string): Promise<LineageRecord | null> {
    return this.#artifacts.getLineage(hash);
  }
  /** The lineage of a hash and all its ancestors, nearest first. */
  getLineageGraph(hash: string, limit?: number): Promise<LineageRecord[]> {
    return this.#artifacts.getLineageGraph(hash, limit);
  }

  // ------------------------------------------------------------ audit reports

  /** Stores an audit report; returns its id. */
  saveReport(input: NewReport): Promise<string> {
    return this.#reports.saveReport(input);
  }
  /** One report, or null. */
  getReport(id: string): Promise<ReportRecord | null> {
    return this.#reports.getReport(id);
  }
  /** The latest report on exactly this hash, or null. */
  latestReportFor(artifactHash: string): Promise<ReportRecord | null> {
    return this.#reports.latestReportFor(artifactHash);
  }
  /** Every report on exactly this hash, of every run that staged it, in save order. */
  listReportsForArtifact(artifactHash: string): Promise<ReportRecord[]> {
    return this.#reports.listReportsForArtifact(artifactHash);
  }
  /** A run's reports in save order. */
  listReportsForRun(runId: string): Promise<ReportRecord[]> {
    return this.#reports.listReportsForRun(runId);
  }

  // ------------------------------------------------------------ reviews

  /** Records a review bound to the report's hash; returns its id. */
  addReview(input: NewReview): Promise<string> {
    return this.#reviews.addReview(input);
  }
  /** Reviews of exactly this hash. */
  listReviews(artifactHash: string): Promise<Review[]> {
    return this.#reviews.listReviews(artifactHash);
  }

  // ------------------------------------------------------------ releases

  /** Records a release (idempotent on run, output and hash). */
  createRelease(input: NewRelease): Promise<Release> {
    return this.#releases.createRelease(input);
  }
  /** Releases, of one run when given. */
  listReleases(q: { runId?: string } = {}): Promise<Release[]> {
    return this.#releases.listReleases(q);
  }
  /** Tables released under an agreement from aggregate steps, with their evidence (A9's registry). */
  listAggregateTableReleases(agreementId: string): Promise<AggregateTableRelease[]> {
    return this.#releases.listAggregateTableReleases(agreementId);
  }
  /** One release, or null. */
  getRelease(id: string): Promise<Release | null> {
    return this.#releases.getRelease(id);
  }

  // ------------------------------------------------------------ tenancy

  /** Who a resource belongs to (operator organisations, whether it reached the gate), or null when it does not exist. */
  ownerOf(kind: ResourceOwnerKind, id: string): Promise<ResourceOwner | null> {
    switch (kind) {
      case 'run':
        return this.#tenancy.runOwner(id);
      case 'artifact':
        return this.#tenancy.artifactOwner(id);
      case 'report':
        return this.#tenancy.reportOwner(id);
      case 'release':
        return this.#tenancy.releaseOwner(id);
      case 'agreement':
        return this.#tenancy.agreementOwner(id);
    }
  }

  // ------------------------------------------------------------ access log

  /**
   * Records a refused request (never a value from its body); with `audit`,
   * also as an `access.refused` row of the audit log, in the same transaction.
   */
  logRefusal(entry: NewAccessLogEntry, options: { audit?: boolean } = {}): Promise<AccessLogEntry> {
    return this.#accessLog.append(entry, options);
  }
  /** Refused requests, oldest first, filtered. */
  listAccessLog(q: AccessLogQuery = {}): Promise<AccessLogEntry[]> {
    return this.#accessLog.list(q);
  }

  // ------------------------------------------------------------ audit log

  /**
   * Appends to the tamper-evident audit log and returns the row. `details`
   * must hold only ids, hashes, counts, names and codes — NEVER a data value
   * (the log is kept for years and read by people outside the domain).
   */
  log(entry: AuditLogInput): Promise<AuditLogEntry> {
    return appendAuditLog(this.db, entry);
  }
  /** Verifies every row's MAC and the log against its checkpoint; names the first bad row. See {@link verifyAuditLog}. */
  verifyAuditLog(): Promise<AuditLogVerification> {
    return verifyAuditLog(this.db);
  }
  /** Audit-log rows in seq order, filtered. */
  listAuditLog(q: AuditLogQuery = {}): Promise<AuditLogEntry[]> {
    return listAuditLog(this.db, q);
  }
  /** The chain head (seq and MAC of the last row), which signed reports record; null when empty. */
  auditLogHead(): Promise<AuditLogHead | null> {
    return auditLogHead(this.db);
  }
}
