/**
 * The statements of the SQL adapter, built once per schema and shared by PGlite and PostgreSQL.
 * Statements with optional bounds are assembled from fixed fragments; values are always
 * parameters, never part of the text.
 *
 * @module
 */
import { prefixUpperBound } from '../_check.js';
import { qualified } from './schema.js';

/** A statement and its parameters. */
export interface Statement {
  readonly text: string;
  readonly params: readonly unknown[];
}

/** Live rows: `expires_at IS NULL OR expires_at > $now`. */
function live(now: string): string {
  return `(expires_at IS NULL OR expires_at > ${now})`;
}

/** Appends byte-range conditions on `sort` for a prefix and a cursor, binding them as parameters. */
function sortRange(
  params: unknown[],
  prefix: Uint8Array | undefined,
  after: Uint8Array | undefined,
  reverse: boolean,
): string {
  let sql = '';
  if (prefix !== undefined && prefix.length > 0) {
    params.push(prefix);
    sql += ` AND sort >= $${params.length}`;
    const upper = prefixUpperBound(prefix);
    if (upper !== undefined) {
      params.push(upper);
      sql += ` AND sort < $${params.length}`;
    }
  }
  if (after !== undefined) {
    params.push(after);
    sql += ` AND sort ${reverse ? '<' : '>'} $${params.length}`;
  }
  return sql;
}

/** The statements of one schema. */
export class Queries {
  readonly rows: string;
  readonly get: string;
  readonly getForUpdate: string;
  readonly put: string;
  readonly putIfAbsent: string;
  readonly delete: string;
  readonly deletePartition: string;
  /**
   * `$1` table, `$2` partition, `$3` now; returns `n` (live rows) and `bytes` (the sum of their
   * value lengths), both `bigint` (the drivers hand them back as strings).
   */
  readonly usage: string;
  /** `$1` table, `$2..$5` arrays of partitions, sort keys, values and expiries (NULL: never). */
  readonly putMany: string;
  /** {@link putMany} with `$6` now, returning the keys it wrote. */
  readonly putManyIfAbsent: string;
  /**
   * {@link putManyIfAbsent} of the claims (`$1..$6`) and, in the same statement, `$7` table with
   * `$8..$11` arrays of the rows behind them and `$12`/`$13` the partition and sort key of each
   * row's claim: a row is written only when its claim was. Returns the claims written.
   */
  readonly claimMany: string;
  /** `$1` table, `$2`/`$3` arrays of partitions and sort keys, `$4` now; returns `i` (1-based). */
  readonly getMany: string;
  /** `$1` table, `$2`/`$3` arrays of distinct keys, `$4` now; returns `i` (1-based) and `live`. */
  readonly deleteMany: string;

  constructor(readonly schema: string) {
    const rows = qualified(schema, 'cloister_rows');
    this.rows = rows;
    this.get = `SELECT value, expires_at FROM ${rows} WHERE tbl = $1 AND part = $2 AND sort = $3 AND ${live('$4')}`;
    this.getForUpdate = `${this.get} FOR UPDATE`;
    const insert = `INSERT INTO ${rows} AS r (tbl, part, sort, value, expires_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tbl, part, sort) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`;
    this.put = insert;
    this.putIfAbsent = `${insert} WHERE r.expires_at IS NOT NULL AND r.expires_at <= $6`;
    this.delete = `DELETE FROM ${rows} WHERE tbl = $1 AND part = $2 AND sort = $3 RETURNING ${live('$4')} AS live`;
    this.deletePartition = `DELETE FROM ${rows} WHERE tbl = $1 AND part = $2`;
    this.usage = `SELECT count(*) AS n, coalesce(sum(octet_length(value)), 0) AS bytes FROM ${rows} WHERE tbl = $1 AND part = $2 AND ${live('$3')}`;
    // The batch statements take one array per column and `unnest` them side by side, so a call
    // is one statement with a fixed number of parameters whatever its number of rows.
    const insertMany = `INSERT INTO ${rows} AS r (tbl, part, sort, value, expires_at)
SELECT $1::text, u.part, u.sort, u.value, u.expires_at
FROM unnest($2::bytea[], $3::bytea[], $4::bytea[], $5::bigint[]) AS u(part, sort, value, expires_at)
ON CONFLICT (tbl, part, sort) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`;
    this.putMany = insertMany;
    this.putManyIfAbsent = `${insertMany} WHERE r.expires_at IS NOT NULL AND r.expires_at <= $6
RETURNING r.part, r.sort`;
    // A data-modifying WITH runs each part once; the rows behind the claims see only the claims'
    // RETURNING (one snapshot), which is all they need: they live in another table.
    this.claimMany = `WITH c AS (
${this.putManyIfAbsent}
), d AS (
INSERT INTO ${rows} AS r (tbl, part, sort, value, expires_at)
SELECT $7::text, v.part, v.sort, v.value, v.expires_at
FROM unnest($8::bytea[], $9::bytea[], $10::bytea[], $11::bigint[], $12::bytea[], $13::bytea[])
  AS v(part, sort, value, expires_at, cpart, csort)
WHERE EXISTS (SELECT 1 FROM c WHERE c.part = v.cpart AND c.sort = v.csort)
ON CONFLICT (tbl, part, sort) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
)
SELECT part, sort FROM c`;
    this.getMany = `SELECT u.i, r.value, r.expires_at
FROM unnest($2::bytea[], $3::bytea[]) WITH ORDINALITY AS u(part, sort, i)
JOIN ${rows} AS r ON r.tbl = $1 AND r.part = u.part AND r.sort = u.sort
WHERE r.expires_at IS NULL OR r.expires_at > $4`;
    this.deleteMany = `DELETE FROM ${rows} AS r
USING unnest($2::bytea[], $3::bytea[]) WITH ORDINALITY AS u(part, sort, i)
WHERE r.tbl = $1 AND r.part = u.part AND r.sort = u.sort
RETURNING u.i, (r.expires_at IS NULL OR r.expires_at > $4) AS live`;
  }

  list(
    table: string,
    partition: Uint8Array,
    now: number,
    o: { prefix: Uint8Array | undefined; after: Uint8Array | undefined; limit: number; reverse: boolean },
  ): Statement {
    const params: unknown[] = [table, partition, now];
    const range = sortRange(params, o.prefix, o.after, o.reverse);
    params.push(o.limit);
    return {
      text: `SELECT sort, value, expires_at FROM ${this.rows} WHERE tbl = $1 AND part = $2 AND ${live('$3')}${range} ORDER BY sort${o.reverse ? ' DESC' : ''} LIMIT $${params.length}`,
      params,
    };
  }

  take(
    table: string,
    partition: Uint8Array,
    now: number,
    o: { prefix: Uint8Array | undefined; limit: number },
  ): Statement {
    const params: unknown[] = [table, partition, now];
    const range = sortRange(params, o.prefix, undefined, false);
    params.push(o.limit);
    return {
      text: `DELETE FROM ${this.rows} WHERE (tbl, part, sort) IN (
  SELECT tbl, part, sort FROM ${this.rows} WHERE tbl = $1 AND part = $2 AND ${live('$3')}${range}
  ORDER BY sort LIMIT $${params.length} FOR UPDATE SKIP LOCKED
) RETURNING sort, value, expires_at`,
      params,
    };
  }

  count(table: string, partition: Uint8Array, now: number, prefix: Uint8Array | undefined): Statement {
    const params: unknown[] = [table, partition, now];
    const range = sortRange(params, prefix, undefined, false);
    return {
      text: `SELECT count(*) AS n FROM ${this.rows} WHERE tbl = $1 AND part = $2 AND ${live('$3')}${range}`,
      params,
    };
  }

  purge(now: number, tables: readonly string[] | undefined, batchSize: number): Statement {
    const params: unknown[] = [now];
    let filter = '';
    if (tables !== undefined) {
      params.push(tables);
      filter = ` AND tbl = ANY($${params.length}::text[])`;
    }
    params.push(batchSize);
    return {
      text: `DELETE FROM ${this.rows} WHERE ctid IN (
  SELECT ctid FROM ${this.rows} WHERE expires_at IS NOT NULL AND expires_at <= $1${filter}
  LIMIT $${params.length} FOR UPDATE SKIP LOCKED
)`,
      params,
    };
  }
}
