/**
 * Piscina task file for {@link mondrian}: partitions one shipped subtree and
 * transfers the result's buffers back. Thin on purpose: the algorithm lives in
 * transforms/mondrian.ts. Not part of any public export list.
 */
import { wireTask } from '../../lib/pool.js';
import { extractHalf, movable, partitionSubtree } from '../../transforms/mondrian.js';
import type { MondrianExtractTask, MondrianSubtreeResult, MondrianSubtreeTask } from '../../transforms/mondrian.js';

/**
 * Gathers one half of the root's cut, or runs one subtree to the end. Its row ids stay where they are, in the shared
 * arrays (the result's `rows` is a view of them); the class sizes and ranges
 * own their buffers and are moved, not copied. A failure leaves as `{ code, message }`.
 */
function mondrianTask(task: MondrianSubtreeTask | MondrianExtractTask): MondrianSubtreeResult | { lo: Int32Array; hi: Int32Array } {
  if (task.kind === 'extract') return extractHalf(task);
  const r = partitionSubtree(task);
  return movable(r, [r.sizes, r.lo, r.hi]);
}

/** The entry point piscina calls (see lib/pool.ts wireTask). */
export default wireTask('mondrian: a partitioning worker', mondrianTask);
