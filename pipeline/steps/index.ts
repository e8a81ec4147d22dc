import type { StepExecutor } from './step-context.js';
import { extract } from './extract.js';
import { sample } from './sample.js';
import { desensitize } from './desensitize.js';
import { aggregate } from './aggregate.js';
import { sql } from './sql.js';
import { kanonymize } from './kanonymize.js';
import { train } from './train.js';

/** Every step kind and its executor. `output` is not a step: outputs are staged by the gate. */
export const EXECUTORS: Record<string, StepExecutor> = { extract, sample, desensitize, aggregate, sql, kanonymize, train };
