/**
 * The catalog and agreements the planner tests plan against (no database, no files).
 * The agreements grant `mobile` untreated: with mobile registered as the direct
 * identifier it is, the planner refuses every spec that extracts it
 * (SLUICE_ERR_PLAN_LINEAGE); tests that plan a leak on purpose, for the audit to
 * catch, register it misclassified (`population({ mobile: 'other' })`).
 */
import type { Agreement, DatasetInfo } from '../../domain/types.js';

/**
 * The population dataset as a provider registers it (types and classes).
 * `classes` overrides some of them: a provider who misclassified a column
 * (e.g. `{ mobile: 'other' }`), which lineage cannot see and the audit's
 * content checks must.
 */
export function population(classes: Partial<Record<string, DatasetInfo['columns'][number]['class']>> = {}): DatasetInfo {
  const cols: [string, string, DatasetInfo['columns'][number]['class']][] = [
    ['id_number', 'VARCHAR', 'direct-identifier'], ['name', 'VARCHAR', 'direct-identifier'], ['sex', 'VARCHAR', 'quasi-identifier'],
    ['birth_date', 'DATE', 'quasi-identifier'], ['mobile', 'VARCHAR', 'direct-identifier'], ['area_code', 'VARCHAR', 'quasi-identifier'],
    ['area_name', 'VARCHAR', 'quasi-identifier'], ['street', 'VARCHAR', 'quasi-identifier'], ['community', 'VARCHAR', 'quasi-identifier'],
    ['house_number', 'VARCHAR', 'direct-identifier'], ['address', 'VARCHAR', 'direct-identifier'], ['education', 'VARCHAR', 'other'],
    ['occupation', 'VARCHAR', 'other'], ['marital_status', 'VARCHAR', 'sensitive'], ['income_band', 'VARCHAR', 'sensitive'],
  ];
  return {
    name: 'population', provider: 'civil-affairs', origin: 'public', artifactHash: 'a'.repeat(64), path: `raw/${'a'.repeat(64)}.parquet`,
    rows: 1000, columns: cols.map(([name, type, cls]) => ({ name, type, class: classes[name] ?? cls })), unitColumn: 'id_number',
  };
}

export function agreement(id: string, operator: string, validFrom: string, validTo: string): Agreement {
  return {
    id, scenario: 'elderly care planning', operator, purpose: 'care demand', useClass: 'public-interest', validFrom, validTo, status: 'active',
    grants: [{
      dataset: 'population',
      columns: [
        { name: 'id_number', treatment: 'tokenize' }, { name: 'name', treatment: 'drop' }, { name: 'sex', treatment: 'none' },
        { name: 'birth_date', treatment: 'generalize', level: 'band10' }, { name: 'mobile', treatment: 'none' },
        { name: 'area_code', treatment: 'none' }, { name: 'area_name', treatment: 'none' }, { name: 'education', treatment: 'none' },
        { name: 'occupation', treatment: 'none' }, { name: 'marital_status', treatment: 'none' }, { name: 'income_band', treatment: 'none' },
        { name: 'blood_type', treatment: 'none' },
      ],
    }],
  };
}

export const AGREEMENTS = new Map([
  ['AGR-2026-001', agreement('AGR-2026-001', 'op-a', '2026-01-01', '2028-12-31')],
  ['AGR-2020-001', agreement('AGR-2020-001', 'op-a', '2020-01-01', '2022-12-31')],
  ['AGR-2026-009', agreement('AGR-2026-009', 'op-b', '2026-01-01', '2028-12-31')],
]);
