import type { ColumnClass, Label, Status, Treatment } from '../lib/vocabulary.js';
import type { ResourceLimits } from '../lib/limits.js';
// Type-only: the control plane stores the planner's plan and the parsed spec as they are.
import type { Plan } from '../pipeline/plan/plan.js';
import type { JobSpec } from '../pipeline/spec/spec.js';

export type { JobSpec, Plan };

/**
 * The roles of the domain: operator (a company's engineer), reviewer,
 * admin (the authority) and auditor (the authority's read-only inspector:
 * governance records, logs and reports; never data, never a change).
 */
export const ROLES = ['operator', 'reviewer', 'admin', 'auditor'] as const;

/** The kinds of resource the access layer scopes by owner (domain/tenancy-repo.ts). */
export type ResourceOwnerKind = 'run' | 'artifact' | 'report' | 'release' | 'agreement';

/** A person's role in the domain. */
export type Role = (typeof ROLES)[number];

/** A person who may call the service. */
export interface User {
  id: string;
  name: string;
  role: Role;
  /** The operating company (for operators) or the authority's unit. */
  organization: string;
}

/** One column of a registered dataset. */
export interface DatasetColumn {
  name: string;
  /** DuckDB type name, e.g. VARCHAR, DATE, BIGINT, DOUBLE. */
  type: string;
  class: ColumnClass;
}

/** A dataset registered in raw/ by its data provider. */
export interface DatasetInfo {
  name: string;
  provider: string;
  /** Public data, or social data an operator imported for fusion. */
  origin: 'public' | 'social';
  /** Content hash (sha256 hex) of the Parquet artifact in raw/. */
  artifactHash: string;
  /** Path relative to the data root, e.g. `raw/<hash>.parquet`. */
  path: string;
  rows: number;
  columns: DatasetColumn[];
  /** Column that identifies the person or entity a row is about (for counting contributors). */
  unitColumn: string | null;
}

/** How one granted column must be treated before it leaves raw/. */
export interface ColumnGrant {
  name: string;
  treatment: Treatment;
  /** For `generalize`: the level, e.g. `year`, `month`, `county`, `band10`. */
  level?: string;
}

/** One dataset an agreement grants, with its columns. */
export interface DatasetGrant {
  dataset: string;
  columns: ColumnGrant[];
}

/** Where an agreement stands: only an active one is ever in force (see domain/in-force.ts). */
export type AgreementStatus = 'active' | 'suspended' | 'terminated';

/** An authorized-operation agreement (minimal form). */
export interface Agreement {
  id: string;
  scenario: string;
  /** The operating company. */
  operator: string;
  purpose: string;
  useClass: 'public-interest' | 'industry';
  grants: DatasetGrant[];
  /** ISO dates, inclusive; the term is at most 3 years (§3.9). */
  validFrom: string;
  validTo: string;
  /** `active` is in force between validFrom and validTo; `suspended` until resumed; `terminated` for good (domain/in-force.ts). */
  status: AgreementStatus;
  /** Audit thresholds for this agreement's outputs (partial; AUDIT.md defaults fill the rest). */
  auditThresholds?: Record<string, unknown>;
  /** Resource limits of its steps (partial; the configured defaults fill the rest; lib/limits.ts). */
  resourceLimits?: ResourceLimits;
}

// ---------------------------------------------------------------- control-plane records
// What ControlPlane (domain/control-plane.ts) returns: plain objects, camelCase,
// timestamps as ISO strings with milliseconds, counts as numbers.

/** A user as stored, with the fields only the control plane shows. */
export interface UserRecord extends User {
  createdAt: string;
  /** Disabled users cannot authenticate. */
  disabled: boolean;
}

/** An agreement as stored. */
export interface AgreementRecord extends Agreement {
  createdAt: string;
  terminatedAt: string | null;
  terminatedBy: string | null;
  /** Why it was terminated (the admin's words), or null. */
  terminationReason: string | null;
  /** While suspended: since when, by whom and why; null otherwise. */
  suspendedAt: string | null;
  suspendedBy: string | null;
  suspensionReason: string | null;
}

/** A dataset as stored in the catalog. */
export interface DatasetRecord extends DatasetInfo {
  registeredAt: string;
  registeredBy: string;
}

/** States of a run. `succeeded`, `failed`, `cancelled` and `released` are terminal. */
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'blocked' | 'awaiting-review' | 'released';

/** States of a step. `done`, `skipped`, `failed` and `cancelled` set its finish time. */
export type StepStatus = 'waiting' | 'running' | 'done' | 'skipped' | 'failed' | 'cancelled';

/** One step of a run (one BullMQ job). */
export interface Step {
  runId: string;
  stepId: string;
  kind: string;
  status: StepStatus;
  /** 0..1. */
  progress: number;
  attempts: number;
  artifactHash: string | null;
  rows: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A run without its steps (what lists return). */
export interface RunSummary {
  id: string;
  agreementId: string;
  submittedBy: string;
  specName: string;
  specHash: string;
  /** The parsed job spec (names, parameters: never data values). */
  spec: JobSpec;
  /** The planned flow. */
  plan: Plan;
  status: RunStatus;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A run with its steps, in the order they were created. */
export interface Run extends RunSummary {
  steps: Step[];
}

/** Zones of the domain store. */
export type Zone = 'raw' | 'sandbox' | 'work' | 'staging' | 'release';

/** Kinds of artifact. */
export type ArtifactKind = 'table' | 'extract' | 'model' | 'file' | 'evidence';

/** One column of an artifact: name, DuckDB type, class and label. */
export interface ArtifactColumn {
  name: string;
  type: string;
  class: ColumnClass;
  label: Label;
}

/** How an artifact's content was made. */
export interface LineageInput {
  /** Hashes of the artifacts it was computed from. */
  inputs: string[];
  /** The step kind that made it, e.g. `extract`, `k-anonymize`. */
  step: string;
  /** The step's parameters (names and settings, never data values). */
  parameters: Record<string, unknown>;
  /** Version of the code that ran, e.g. a git commit or package version. */
  codeVersion: string;
}

/** A lineage record as stored. */
export interface LineageRecord extends LineageInput {
  artifactHash: string;
  rows: number | null;
  columnCount: number | null;
  createdAt: string;
}

/** An artifact in one zone. */
export interface Artifact {
  hash: string;
  zone: Zone;
  /** Path relative to the data root. */
  path: string;
  kind: ArtifactKind;
  rows: number | null;
  columns: ArtifactColumn[];
  runId: string | null;
  stepId: string | null;
  createdAt: string;
  frozen: boolean;
}

/** A stored audit report. */
export interface ReportRecord {
  id: string;
  artifactHash: string;
  runId: string | null;
  outputId: string | null;
  status: Status;
  /** The AuditReport (audit/types.ts) as saved. */
  report: unknown;
  signature: string;
  createdAt: string;
}

/** A reviewer's decision on one artifact hash. */
export interface Review {
  id: string;
  artifactHash: string;
  reportId: string;
  reviewerId: string;
  decision: 'approve' | 'reject';
  /** True when the reviewer approves an output despite a failed check (needs two independent reviewers). */
  exception: boolean;
  reason: string;
  createdAt: string;
}

/** An output released into release/. */
export interface Release {
  id: string;
  artifactHash: string;
  runId: string;
  outputId: string;
  path: string;
  releasedBy: string;
  releasedAt: string;
}

/** One row of the tamper-evident audit log. */
export interface AuditLogEntry {
  seq: number;
  /** ISO timestamp with milliseconds. */
  at: string;
  actor: string;
  action: string;
  subject: string;
  /** Ids, counts, hashes and names only: never a data value. */
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}
