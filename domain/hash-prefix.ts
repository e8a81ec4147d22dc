import type { Db } from './db.js';

/** What a hash prefix resolved to: the one full hash, or how many matched (0 or more than 1). */
export type PrefixMatch = { hash: string; matches: 1 } | { hash: null; matches: number };

/**
 * Resolves a prefix of an artifact hash among the artifacts that have an audit
 * report (the only ones a review can bind to), as git resolves short hashes.
 * `organization` restricts the search to the runs of one operator
 * organisation (its agreements' runs), so an operator learns nothing about
 * other companies' artifacts. The prefix must already be
 * validated as lowercase hex (it goes into LIKE, where `%` and `_` would be
 * wildcards). Counts at most 1000 matches: the count is only for the message.
 */
export async function resolveReportedHashPrefix(db: Db, prefix: string, organization?: string): Promise<PrefixMatch> {
  if (!/^[0-9a-f]{1,64}$/.test(prefix)) return { hash: null, matches: 0 };
  const params: unknown[] = [`${prefix}%`];
  let join = '';
  if (organization !== undefined) {
    params.push(organization);
    join = 'JOIN runs ON runs.id = r.run_id JOIN agreements a ON a.id = runs.agreement_id AND a.operator = $2';
  }
  const rows = await db.query<{ artifact_hash: string }>(
    `SELECT DISTINCT r.artifact_hash FROM audit_reports r ${join} WHERE r.artifact_hash LIKE $1 ORDER BY r.artifact_hash LIMIT 1000`,
    params,
  );
  if (rows.length === 1) return { hash: rows[0]!.artifact_hash, matches: 1 };
  return { hash: null, matches: rows.length };
}
