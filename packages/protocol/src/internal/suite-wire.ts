/** The protobuf numbers of the suites (enum `cloister.v1.Suite`). */
import { cloister } from '../generated/cloister.js';
import type { Suite } from '../suites.js';

const wire = cloister.v1;

/** Suite number to name; 0 (unspecified) and unknown numbers are absent. */
export const SUITE_FROM_WIRE: ReadonlyMap<number, Suite> = new Map<number, Suite>([
  [wire.Suite.SUITE_V2, 'v2'],
  [wire.Suite.SUITE_STATIC_V1, 'static-v1'],
]);

/** Suite name to number. */
export const SUITE_TO_WIRE: Readonly<Record<Suite, number>> = {
  v2: wire.Suite.SUITE_V2,
  'static-v1': wire.Suite.SUITE_STATIC_V1,
};
