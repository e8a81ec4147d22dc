import type { ColumnClass, Treatment } from '../lib/vocabulary.js';

/** A person's role in the domain. */
export type Role = 'operator' | 'reviewer' | 'admin';

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
  status: 'active' | 'terminated';
}
