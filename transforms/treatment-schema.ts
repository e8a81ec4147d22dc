/**
 * The per-column desensitization treatment: what an agreement or a job spec
 * says must happen to one column before it leaves raw/. Validated with zod at
 * every boundary; {@link parseTreatments} turns schema errors into a
 * SluiceError naming the column and the field, never a value.
 */
import { z } from 'zod';
import { SluiceError } from '../lib/errors.js';

/** Levels of the date hierarchy (output `2024-03`, `2024-Q1`, `2024`, `*`). */
export const DATE_LEVELS = ['month', 'quarter', 'year'] as const;
/** Band widths for ages and numbers (output like `60-69`); on a DATE column they band the age at `asOf`. */
export const BAND_LEVELS = ['band5', 'band10', 'band20'] as const;
/** Levels of the 6-digit area code and of the address hierarchy. */
export const PLACE_LEVELS = ['community', 'street', 'county', 'city', 'province'] as const;
/** Every generalization level; `interval` needs `width`; `*` suppresses the value. */
export const GENERALIZE_LEVELS = [...DATE_LEVELS, ...BAND_LEVELS, ...PLACE_LEVELS, 'interval', '*'] as const;
/** A generalization level. */
export type GeneralizeLevel = (typeof GENERALIZE_LEVELS)[number];
/** Which hierarchy a level applies to; inferred from the level and column type when absent. */
export const GENERALIZE_HIERARCHIES = ['date', 'number', 'area-code', 'address'] as const;
/** A generalization hierarchy. */
export type GeneralizeHierarchy = (typeof GENERALIZE_HIERARCHIES)[number];

const count = z.int().min(0).max(1000);

/** `drop`: the column is removed from the output. */
export const DropTreatmentSchema = z.strictObject({ treatment: z.literal('drop') });
/** `mask`: partial masking keeping `keepStart` (default 3) and `keepEnd` (default 4) characters. */
export const MaskTreatmentSchema = z.strictObject({
  treatment: z.literal('mask'),
  keepStart: count.optional(),
  keepEnd: count.optional(),
  maskChar: z.string().refine((s) => [...s].length === 1, 'expected exactly one character').optional(),
  keepSeparators: z.boolean().optional(),
});
/** `redact`: every non-NULL value becomes `with` (default `***`). */
export const RedactTreatmentSchema = z.strictObject({ treatment: z.literal('redact'), with: z.string().max(64).optional() });
/** `tokenize`: keyed HMAC-SHA-256 token of `length` hex characters (8..64, default 32). */
export const TokenizeTreatmentSchema = z.strictObject({
  treatment: z.literal('tokenize'),
  length: z.int().min(8).max(64).optional(),
});
/** `truncate`: keep the first `length` characters. */
export const TruncateTreatmentSchema = z.strictObject({ treatment: z.literal('truncate'), length: count });
/** `noise`: seeded Laplace (default) or uniform noise of `scale` column units. */
export const NoiseTreatmentSchema = z.strictObject({
  treatment: z.literal('noise'),
  scale: z.number().positive().max(1e15),
  distribution: z.enum(['laplace', 'uniform']).optional(),
});
/** `shift-date`: shift by a keyed per-person number of days in ±maxDays (never 0). */
export const ShiftDateTreatmentSchema = z.strictObject({
  treatment: z.literal('shift-date'),
  maxDays: z.int().min(1).max(36500),
  personColumn: z.string().min(1),
});
/** `generalize`: recode to `level` of a hierarchy; `interval` needs `width` (> 0). */
export const GeneralizeTreatmentSchema = z
  .strictObject({
    treatment: z.literal('generalize'),
    level: z.enum(GENERALIZE_LEVELS),
    hierarchy: z.enum(GENERALIZE_HIERARCHIES).optional(),
    width: z.number().positive().max(1e15).optional(),
  })
  .refine((t) => (t.level === 'interval') === (t.width !== undefined), {
    message: "width is required with level 'interval' and allowed only with it",
    path: ['width'],
  });
/** `none`: the column passes unchanged (label raw). */
export const NoneTreatmentSchema = z.strictObject({ treatment: z.literal('none') });

/** One column's treatment (a discriminated union on `treatment`). */
export const ColumnTreatmentSchema = z.discriminatedUnion('treatment', [
  DropTreatmentSchema,
  MaskTreatmentSchema,
  RedactTreatmentSchema,
  TokenizeTreatmentSchema,
  TruncateTreatmentSchema,
  NoiseTreatmentSchema,
  ShiftDateTreatmentSchema,
  GeneralizeTreatmentSchema,
  NoneTreatmentSchema,
]);

/** One column's treatment. */
export type ColumnTreatment = z.infer<typeof ColumnTreatmentSchema>;

/** Treatments by column name. */
export const TreatmentsSchema = z.record(z.string().min(1), ColumnTreatmentSchema);

/** Treatments by column name. */
export type Treatments = z.infer<typeof TreatmentsSchema>;

/** Formats zod issues as `path: message` lines (zod's messages name types and keys, not values). */
function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: string): string {
  return issues
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.');
      return `${path || '(root)'}: ${i.message}`;
    })
    .join('; ');
}

/**
 * Validates one column's treatment; throws SLUICE_ERR_TRANSFORM_INVALID naming
 * the column and the offending field.
 */
export function parseColumnTreatment(column: string, value: unknown): ColumnTreatment {
  const r = ColumnTreatmentSchema.safeParse(value);
  if (r.success) return r.data;
  throw new SluiceError(
    'SLUICE_ERR_TRANSFORM_INVALID',
    `invalid treatment for column "${column}": ${describeIssues(r.error.issues, '')}`,
    { details: { column, paths: r.error.issues.map((i) => i.path.map(String).join('.')) } },
  );
}

/** Validates a record of treatments by column name (see {@link parseColumnTreatment}). */
export function parseTreatments(value: unknown): Treatments {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SluiceError('SLUICE_ERR_TRANSFORM_INVALID', `treatments: expected an object keyed by column name, found ${Array.isArray(value) ? 'array' : typeof value}`);
  }
  const out: Treatments = {};
  for (const [column, t] of Object.entries(value)) out[column] = parseColumnTreatment(column, t);
  return out;
}
