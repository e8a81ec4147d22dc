/**
 * Piscina task file for {@link mondrian}: partitions one shipped subtree and
 * transfers the result's buffers back. Thin on purpose: the algorithm lives in
 * mondrian.ts. Not part of any public export list.
 */
import { movable, partitionSubtree } from './mondrian.js';
import type { MondrianSubtreeResult, MondrianSubtreeTask } from './mondrian.js';

/** Runs one subtree to the end; every returned array owns its whole buffer and is moved, not copied. */
export default function mondrianTask(task: MondrianSubtreeTask): MondrianSubtreeResult {
  const r = partitionSubtree(task);
  return movable(r, [r.rows, r.sizes, r.lo, r.hi]);
}
