/**
 * What an agreement may grant: a direct identifier never leaves raw/ as it is.
 * The one rule the control plane (creating an agreement, re-registering a
 * dataset an agreement grants), the planner and the extract share.
 */
import { SluiceError } from '../lib/errors.js';
import type { DatasetGrant, DatasetInfo } from './types.js';

/** Treatments an agreement may not give a direct identifier: it would leave raw/ unchanged. */
const UNTREATED = new Set(['none']);

/** One grant the rule refuses. */
export interface ForbiddenGrant {
  dataset: string;
  column: string;
  treatment: string;
}

/**
 * The grants that give a column its provider classed `direct-identifier` a
 * treatment that keeps it as it is (`none`), for the datasets in `datasets`
 * (a dataset not registered yet is checked when it is registered).
 */
export function forbiddenGrants(grants: readonly DatasetGrant[], datasets: ReadonlyMap<string, Pick<DatasetInfo, 'name' | 'columns'>>): ForbiddenGrant[] {
  const out: ForbiddenGrant[] = [];
  for (const g of grants) {
    const ds = datasets.get(g.dataset);
    if (!ds) continue;
    for (const c of g.columns) {
      const cls = ds.columns.find((x) => x.name === c.name)?.class;
      if (cls === 'direct-identifier' && UNTREATED.has(c.treatment)) out.push({ dataset: g.dataset, column: c.name, treatment: c.treatment });
    }
  }
  return out;
}

/** SLUICE_ERR_AGREEMENT_GRANT naming the agreement, dataset and column of the first forbidden grant (and how many there are). */
export function forbiddenGrantError(agreementId: string, found: readonly ForbiddenGrant[]): SluiceError {
  const f = found[0]!;
  const more = found.length > 1 ? `; and ${found.slice(1).map((x) => `${x.dataset}.${x.column}`).join(', ')}` : '';
  return SluiceError.of(
    'SLUICE_ERR_AGREEMENT_GRANT',
    { agreement: agreementId, dataset: f.dataset, column: `${f.column}${more}`, treatment: f.treatment },
    { details: { agreement: agreementId, grants: found.map((x) => ({ ...x })) } },
  );
}

/** Throws {@link forbiddenGrantError} when any grant of the agreement is forbidden. */
export function assertGrantsAllowed(agreementId: string, grants: readonly DatasetGrant[], datasets: ReadonlyMap<string, Pick<DatasetInfo, 'name' | 'columns'>>): void {
  const found = forbiddenGrants(grants, datasets);
  if (found.length > 0) throw forbiddenGrantError(agreementId, found);
}
