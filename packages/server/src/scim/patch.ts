/**
 * SCIM PATCH (RFC 7644 §3.5.2) for Users, applied with `scim-patch` to the resource as served;
 * the caller then validates the result and writes it as one change (all or nothing). Entra ID's
 * quirks are accepted: operation names in any case (`Replace`), string booleans (`"False"`), and
 * `add`/`replace` without a path whose object value names attribute paths (`name.givenName`).
 * Every failure is 400 with a fixed detail (`invalidSyntax`, `invalidPath`, `invalidValue`,
 * `noTarget`); a library message, which may quote the request, is never passed on.
 *
 * @module
 */
import { type ScimPatchOperation, scimPatch } from 'scim-patch';
import { ScimError } from './errors.js';

/**
 * The schema URN of a PATCH request body.
 *
 * @example
 * ```ts
 * const body = { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'replace', path: 'active', value: false }] };
 * ```
 */
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Most operations one PATCH may carry. */
const MAX_OPERATIONS = 1000;

/**
 * One PATCH operation after normalisation: a lower-case op and, for add and replace, a value.
 *
 * @example
 * ```ts
 * const op: PatchOp = { op: 'replace', path: 'active', value: false };
 * ```
 */
export interface PatchOp {
  /** `add`, `remove` or `replace`. */
  readonly op: 'add' | 'remove' | 'replace';
  /** The attribute path, when there is one. */
  readonly path?: string;
  /** The value (add and replace; remove of members may carry one too). */
  readonly value?: unknown;
}

const syntax = (): never => {
  throw new ScimError(400, 'invalidSyntax', 'the PATCH request is not valid');
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks a PATCH body and normalises its operations: op names lower-cased; a path-less `add` or
 * `replace` with an object value split into one operation per key (Entra sends
 * `{ "name.givenName": "…" }`); `"True"`/`"False"` for `active` become booleans.
 *
 * @example
 * ```ts
 * const ops = normalisePatch({ schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'Replace', value: { active: 'False' } }] });
 * // [{ op: 'replace', path: 'active', value: false }]
 * ```
 */
export function normalisePatch(body: unknown): PatchOp[] {
  if (!isObject(body)) return syntax();
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(PATCH_OP_SCHEMA)) return syntax();
  const ops = body.Operations ?? body.operations;
  if (!Array.isArray(ops) || ops.length === 0 || ops.length > MAX_OPERATIONS) return syntax();
  const out: PatchOp[] = [];
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string') return syntax();
    const op = raw.op.toLowerCase();
    if (op !== 'add' && op !== 'remove' && op !== 'replace') return syntax();
    const path = raw.path;
    if (path !== undefined && (typeof path !== 'string' || path.length === 0 || path.length > 1024))
      return syntax();
    if (op === 'remove') {
      if (path === undefined) throw new ScimError(400, 'noTarget', 'a remove operation needs a path');
      out.push({ op, path, ...(raw.value === undefined ? {} : { value: raw.value }) });
      continue;
    }
    if (raw.value === undefined) return syntax();
    if (path === undefined) {
      if (!isObject(raw.value)) return syntax();
      for (const [k, v] of Object.entries(raw.value)) out.push({ op, path: k, value: stringBoolean(k, v) });
      continue;
    }
    out.push({ op, path, value: stringBoolean(path, raw.value) });
  }
  return out;
}

function stringBoolean(path: string, value: unknown): unknown {
  if (path.toLowerCase() !== 'active' || typeof value !== 'string') return value;
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return value;
}

/**
 * Applies normalised operations to a copy of `resource` (the resource as served) and answers the
 * result; `resource` is not changed. 400 `invalidPath` / `noTarget` / `invalidValue` when an
 * operation does not apply.
 *
 * @example
 * ```ts
 * const next = applyPatch(served, [{ op: 'replace', path: 'displayName', value: 'Alice B.' }]);
 * ```
 */
export function applyPatch<T extends object>(resource: T, ops: readonly PatchOp[]): T {
  try {
    return scimPatch(
      structuredClone(resource) as never,
      ops.map((o) => ({ ...o }) as ScimPatchOperation),
      { mutateDocument: false, treatMissingAsAdd: true },
    ) as T;
  } catch (error) {
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'NoTarget' || name === 'FilterArrayTargetNotFound' || name === 'FilterOnEmptyArray')
      throw new ScimError(400, 'noTarget', 'an operation names no existing value');
    if (typeof name === 'string' && name.startsWith('Invalid'))
      throw new ScimError(400, 'invalidPath', 'an operation path is not valid');
    throw new ScimError(400, 'invalidValue', 'an operation does not apply');
  }
}
