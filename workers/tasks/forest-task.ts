/**
 * Piscina task file for {@link fitRandomForest}: grows one chunk of a forest's
 * trees on the shared bins and labels and moves the trees' buffers back. Thin
 * on purpose: the algorithm lives in models/decision-tree.ts and random-forest.ts.
 * Not part of any public export list.
 */
import { wireTask } from '../../lib/pool.js';
import { growForestTrees, moveTrees } from '../../models/random-forest.js';
import type { ForestTask } from '../../models/random-forest.js';
import type { GrownTree } from '../../models/decision-tree.js';

/**
 * Grows the task's trees (in seed order); every returned array owns its whole
 * buffer and is moved, not copied. A failure leaves as `{ code, message }`.
 */
function forestTask(task: ForestTask): GrownTree[] {
  return moveTrees(growForestTrees(task));
}

/** The entry point piscina calls (see lib/pool.ts wireTask). */
export default wireTask('forest: a tree-growing worker', forestTask);
