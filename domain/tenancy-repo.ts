import type { Db } from './db.js';

/**
 * Who a resource belongs to, as the access layer (service/access.ts) decides
 * visibility: the operator organisations whose runs made or hold it (an
 * agreement's `operator`, not only the submitting account), and whether it
 * reached the gate (has an audit report), which is what reviewers may see.
 */
export interface ResourceOwner {
  /** Operator organisations (agreements' `operator`); empty for what no run made (a raw dataset, a report without a run). */
  organizations: string[];
  /** True when the resource, or the run that made it, has an audit report: it is (or was) up for review. */
  gated: boolean;
}

interface OwnerRow {
  operator: string;
  gated: boolean;
}

function owner(rows: OwnerRow[], gated = false): ResourceOwner {
  return { organizations: [...new Set(rows.map((r) => r.operator))].sort(), gated: gated || rows.some((r) => r.gated) };
}

// The operator of each run in `runs(run_id)`, and whether that run has a report.
const RUN_OWNERS = `SELECT DISTINCT a.operator, EXISTS (SELECT 1 FROM audit_reports ar WHERE ar.run_id = runs.id) AS gated
  FROM r JOIN runs ON runs.id = r.run_id JOIN agreements a ON a.id = runs.agreement_id`;

/**
 * Ownership lookups for tenancy: each returns null when the resource does not
 * exist, else its {@link ResourceOwner}. Read-only; ids and hashes are
 * parameters, never spliced into SQL.
 */
export class TenancyRepo {
  constructor(private readonly db: Db) {}

  /** The owner of a run: its agreement's operator. */
  async runOwner(runId: string): Promise<ResourceOwner | null> {
    const rows = await this.db.query<OwnerRow>(`WITH r AS (SELECT id AS run_id FROM runs WHERE id = $1) ${RUN_OWNERS}`, [runId]);
    return rows.length ? owner(rows) : null;
  }

  /**
   * The owners of an artifact hash: every run that recorded it (in any zone),
   * made it in a step, or had it audited. The same content staged by two
   * tenants' runs belongs to both. Exists when it is an artifact, has lineage
   * or has a report.
   */
  async artifactOwner(hash: string): Promise<ResourceOwner | null> {
    const exists = await this.db.query<{ known: boolean; reported: boolean }>(
      `SELECT (EXISTS (SELECT 1 FROM artifacts WHERE hash = $1) OR EXISTS (SELECT 1 FROM lineage WHERE artifact_hash = $1)
               OR EXISTS (SELECT 1 FROM audit_reports WHERE artifact_hash = $1)) AS known,
              EXISTS (SELECT 1 FROM audit_reports WHERE artifact_hash = $1) AS reported`,
      [hash],
    );
    if (!exists[0]?.known) return null;
    const rows = await this.db.query<OwnerRow>(
      `WITH r AS (
         SELECT run_id FROM artifacts WHERE hash = $1 AND run_id IS NOT NULL
         UNION SELECT run_id FROM steps WHERE artifact_hash = $1
         UNION SELECT run_id FROM audit_reports WHERE artifact_hash = $1 AND run_id IS NOT NULL
       ) ${RUN_OWNERS}`,
      [hash],
    );
    return owner(rows, exists[0].reported);
  }

  /** The owner of an audit report: its run's operator; always gated. */
  async reportOwner(id: string): Promise<ResourceOwner | null> {
    const rep = await this.db.query<{ run_id: string | null }>('SELECT run_id FROM audit_reports WHERE id = $1', [id]);
    if (!rep[0]) return null;
    if (rep[0].run_id === null) return { organizations: [], gated: true };
    const rows = await this.db.query<OwnerRow>(`WITH r AS (SELECT $1::text AS run_id) ${RUN_OWNERS}`, [rep[0].run_id]);
    return owner(rows, true);
  }

  /** The owner of a release: its run's operator; always gated (it passed the gate). */
  async releaseOwner(id: string): Promise<ResourceOwner | null> {
    const rel = await this.db.query<{ run_id: string }>('SELECT run_id FROM releases WHERE id = $1', [id]);
    if (!rel[0]) return null;
    const rows = await this.db.query<OwnerRow>(`WITH r AS (SELECT $1::text AS run_id) ${RUN_OWNERS}`, [rel[0].run_id]);
    return owner(rows, true);
  }

  /** The owner of an agreement: its operator. Agreements are the authority's documents, so gated. */
  async agreementOwner(id: string): Promise<ResourceOwner | null> {
    const rows = await this.db.query<{ operator: string }>('SELECT operator FROM agreements WHERE id = $1', [id]);
    return rows[0] ? { organizations: [rows[0].operator], gated: true } : null;
  }
}
