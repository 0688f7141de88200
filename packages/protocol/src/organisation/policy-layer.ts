/**
 * The payload of a `policy-layer` object (`spec/organisation.md` §6.1): one layer of the
 * organisation's policy (tenant, pool, group or user) as a canonical JSON document of features
 * `{ enabled, locked, config? }`. Only the tenant layer may name the `archive` feature (the
 * archive public key): a more specific layer could otherwise turn archiving on for one user with
 * another key.
 *
 * ```
 * u8   layerKind                    (1 tenant, 2 pool, 3 group, 4 user)
 * u8   len(target) ‖ target         (0 bytes for the tenant layer; an identifier otherwise)
 * u32  len(document) ‖ document     (canonical JSON, 2 .. 65536 bytes)
 * ```
 *
 * @module
 */
import { concatBytes, DecodeError, ForbiddenError, uintBE, ValidationError } from '@cloister/crypto';
import { asDecode, idBytes, type Reader } from './_codec.js';
import { validateArchiveConfig } from './archive-scope.js';
import { type CanonicalJson, canonicalJsonBytes, parseCanonicalJson } from './canonical-json.js';

/**
 * The layers an organisation signs (the server default layer is the operator's, unsigned).
 *
 * @example
 * ```ts
 * console.log(POLICY_LAYER_KINDS.indexOf('user') + 1); // 4: the user layer's code
 * ```
 */
export const POLICY_LAYER_KINDS = ['tenant', 'pool', 'group', 'user'] as const;

/**
 * A layer an organisation signs.
 *
 * @example
 * ```ts
 * const layer: PolicyLayerKind = 'pool';
 * ```
 */
export type PolicyLayerKind = (typeof POLICY_LAYER_KINDS)[number];

/**
 * The feature only the tenant layer may set.
 *
 * @example
 * ```ts
 * const document = { [ARCHIVE_FEATURE]: { enabled: false, locked: true } }; // tenant layer only
 * ```
 */
export const ARCHIVE_FEATURE = 'archive';

/**
 * Longest encoded policy document in bytes (as the server's `MAX_POLICY_BYTES`).
 *
 * @example
 * ```ts
 * const fits = canonicalJsonBytes({ 'files.send': { enabled: false, locked: true } }).length <= MAX_POLICY_DOCUMENT_BYTES;
 * ```
 */
export const MAX_POLICY_DOCUMENT_BYTES = 64 * 1024;

/**
 * Most features in one document (as the server's `MAX_POLICY_FEATURES`).
 *
 * @example
 * ```ts
 * console.log(MAX_POLICY_DOCUMENT_FEATURES); // 256
 * ```
 */
export const MAX_POLICY_DOCUMENT_FEATURES = 256;

/**
 * One feature of a policy document.
 *
 * @example
 * ```ts
 * const document: { [feature: string]: SignedPolicyFeature } = { 'clipboard.copy': { enabled: false, locked: true } };
 * ```
 */
export interface SignedPolicyFeature {
  /** Whether the feature is on. */
  readonly enabled: boolean;
  /** True when more specific layers may not change the feature. */
  readonly locked: boolean;
  /** The feature's settings, canonical JSON. */
  readonly config?: CanonicalJson;
}

/**
 * The payload of a `policy-layer` object.
 *
 * @example
 * ```ts
 * const payload: PolicyLayerPayload = {
 *   layer: 'pool', target: 'ward-3', document: { 'files.send': { enabled: false, locked: true } },
 * };
 * ```
 */
export interface PolicyLayerPayload {
  /** Which layer the document sets. */
  readonly layer: PolicyLayerKind;
  /** The pool, group or user id; `null` for the tenant layer. */
  readonly target: string | null;
  /** Features by name (`a-z 0-9 . _ -`, 1..64 characters). */
  readonly document: { readonly [feature: string]: SignedPolicyFeature };
}

const FEATURE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function checkDocument(doc: unknown, field: string): void {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new ValidationError(field, 'an object');
  const entries = Object.entries(doc);
  if (entries.length > MAX_POLICY_DOCUMENT_FEATURES) {
    throw new ValidationError(field, `at most ${MAX_POLICY_DOCUMENT_FEATURES} features`);
  }
  for (const [name, f] of entries) {
    const at = `${field}.${name}`;
    if (!FEATURE.test(name)) throw new ValidationError(field, 'feature names of a-z 0-9 . _ - (1..64)');
    if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new ValidationError(at, 'an object');
    if (Object.keys(f).some((k) => k !== 'enabled' && k !== 'locked' && k !== 'config')) {
      throw new ValidationError(at, 'only enabled, locked and config');
    }
    const { enabled, locked, config } = f as Record<string, unknown>;
    if (typeof enabled !== 'boolean') throw new ValidationError(`${at}.enabled`, 'a boolean');
    if (typeof locked !== 'boolean') throw new ValidationError(`${at}.locked`, 'a boolean');
    // The archive settings: the key when enabled; the scope, auditors and key set id whenever given.
    if (name === ARCHIVE_FEATURE) validateArchiveConfig(config, enabled, `${at}.config`);
  }
}

function checkTarget(p: PolicyLayerPayload): Uint8Array {
  if (!POLICY_LAYER_KINDS.includes(p.layer))
    throw new ValidationError('payload.layer', POLICY_LAYER_KINDS.join(', '));
  if (p.layer === 'tenant') {
    if (p.target !== null) throw new ValidationError('payload.target', 'null for the tenant layer');
    return new Uint8Array(0);
  }
  return idBytes(p.target, 'payload.target');
}

/** Encodes a policy-layer payload (form rules only). */
export function encodePolicyLayer(p: PolicyLayerPayload): Uint8Array {
  if (typeof p !== 'object' || p === null) throw new ValidationError('payload', 'an object');
  const target = checkTarget(p);
  checkDocument(p.document, 'payload.document');
  const doc = canonicalJsonBytes(p.document, 'payload.document');
  if (doc.length > MAX_POLICY_DOCUMENT_BYTES) {
    throw new ValidationError('payload.document', `at most ${MAX_POLICY_DOCUMENT_BYTES} bytes`);
  }
  return concatBytes(
    Uint8Array.of(POLICY_LAYER_KINDS.indexOf(p.layer) + 1, target.length),
    target,
    uintBE(doc.length, 4),
    doc,
  );
}

/** Decodes a policy-layer payload (form rules only). */
export function decodePolicyLayer(r: Reader): PolicyLayerPayload {
  const layer = POLICY_LAYER_KINDS[r.uint(1, 'payload.layer') - 1];
  if (layer === undefined) throw new DecodeError('payload.layer', '1 tenant, 2 pool, 3 group or 4 user');
  const targetLength = r.uint(1, 'payload.target.length');
  let target: string | null = null;
  if (layer === 'tenant') {
    if (targetLength !== 0) throw new DecodeError('payload.target', 'empty for the tenant layer');
  } else {
    target = r.text(targetLength, 'payload.target');
    const t = target;
    asDecode(() => idBytes(t, 'payload.target'));
  }
  const n = r.uint(4, 'payload.document.length');
  if (n > MAX_POLICY_DOCUMENT_BYTES)
    throw new DecodeError('payload.document', `at most ${MAX_POLICY_DOCUMENT_BYTES} bytes`);
  const document = parseCanonicalJson(r.take(n, 'payload.document'), 'payload.document');
  asDecode(() => checkDocument(document, 'payload.document'));
  return { layer, target, document: document as unknown as PolicyLayerPayload['document'] };
}

/**
 * The rule a verifier applies beyond form: only the tenant layer may name the `archive` feature.
 * `ForbiddenError` otherwise.
 */
export function checkPolicyLayerRules(p: PolicyLayerPayload): void {
  if (p.layer !== 'tenant' && Object.hasOwn(p.document, ARCHIVE_FEATURE)) {
    throw new ForbiddenError('payload.document.archive: only the tenant layer may set the archive feature');
  }
}
