/**
 * Every benchmark case, in the order a run measures them. Add an area by writing a file in this
 * folder that returns its cases and listing it here.
 */
import type { BenchCase } from '../harness.js';
import { aesGcmCases } from './aes-gcm.js';
import { cloisterV2Cases } from './cloister-v2.js';
import { ed25519Cases } from './ed25519.js';
import { envelopeCases } from './envelope.js';
import { filesCases } from './files.js';
import { groupsCases } from './groups.js';
import { hkdfCases } from './hkdf.js';
import { libsignalCases } from './libsignal.js';
import { scryptCases } from './scrypt.js';
import { staticV1Cases } from './static-v1.js';
import { subjectsCases } from './subjects.js';
import { x25519Cases } from './x25519.js';

const AREAS: readonly (() => BenchCase[])[] = [
  x25519Cases,
  ed25519Cases,
  hkdfCases,
  aesGcmCases,
  staticV1Cases,
  scryptCases,
  libsignalCases,
  cloisterV2Cases,
  envelopeCases,
  filesCases,
  groupsCases,
  subjectsCases,
];

/** All declared cases; throws if two share a name or a baseline names no case. */
export function allCases(): BenchCase[] {
  const cases = AREAS.flatMap((area) => area());
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`duplicate benchmark case ${c.name}`);
    names.add(c.name);
  }
  for (const c of cases) {
    for (const ref of [c.baseline, c.target?.baseline]) {
      if (ref !== undefined && !names.has(ref))
        throw new Error(`case ${c.name} refers to unknown case ${ref}`);
    }
  }
  return cases;
}
