/**
 * {@link StorageTx.claimMany}: the checks every adapter shares, and the two-step composition
 * (claim with `putMany` and `ifAbsent`, then write what stands behind the claims that were
 * written) that backends without statements use, and SQL uses when the rows do not fit one
 * statement.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { checkRowInputs, checkTable } from './_check.js';
import type { Row } from './adapter.js';

/** The arguments of a `claimMany` call, checked. */
export interface CheckedClaims {
  readonly claims: Row[];
  readonly behind: { readonly table: string; readonly rows: Row[]; readonly claims: number[] };
}

/**
 * Checks a `claimMany` call in full (fields `claims[i]…`, `behind.table`, `behind.rows[j]…`,
 * `behind.claims[j]`) before anything is written.
 */
export function checkClaims(table: string, claims: unknown, behind: unknown): CheckedClaims {
  const checkedClaims = checkRowInputs(claims, 'claims');
  if (typeof behind !== 'object' || behind === null) throw new ValidationError('behind', 'an object');
  const t = behind as { table?: unknown; rows?: unknown; claims?: unknown };
  const behindTable = checkTable(t.table);
  if (behindTable === table) throw new ValidationError('behind.table', 'a table other than the claims’');
  const rows = checkRowInputs(t.rows, 'behind.rows');
  const links = t.claims;
  if (!Array.isArray(links) || links.length !== rows.length) {
    throw new ValidationError('behind.claims', 'an array with one claim index per row of behind.rows');
  }
  const indexes: number[] = [];
  for (let j = 0; j < links.length; j++) {
    const i = links[j] as unknown;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= checkedClaims.length) {
      throw new ValidationError(`behind.claims[${j}]`, 'the index of one of the claim rows');
    }
    indexes.push(i);
  }
  return { claims: checkedClaims, behind: { table: behindTable, rows, claims: indexes } };
}

/** Writes checked rows as `putMany` does (`ifAbsent` or not); resolves which were written. */
export type PutRows = (table: string, rows: readonly Row[], ifAbsent: boolean) => Promise<boolean[]>;

/** Runs a checked `claimMany` as the two `putMany` calls it stands for, made with `put`. */
export async function claimInSteps(put: PutRows, table: string, c: CheckedClaims): Promise<boolean[]> {
  const won = await put(table, c.claims, true);
  const rows = c.behind.rows.filter((_, j) => won[c.behind.claims[j] as number] === true);
  if (rows.length > 0) await put(c.behind.table, rows, false);
  return won;
}
