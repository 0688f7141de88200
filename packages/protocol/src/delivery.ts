/**
 * `SealedDelivery` and `SealedDeliveryBatch`: what a device hands to the server for delivery. The
 * envelope and the archive seal are carried byte for byte as `@cloister/crypto` produced them;
 * the server reads the envelope's routing fields with `peekEnvelopeOuter`, never from protobuf.
 *
 * @module
 */
import { DecodeError, peekArchiveSeal, peekEnvelopeOuter, toHex } from '@cloister/crypto';
import { MESSAGE_ID_LENGTH } from './content.js';
import { cloister } from './generated/cloister.js';
import {
  decodeFail,
  distinct,
  encodeFail,
  type Fail,
  fixedBytes,
  list,
  object,
  rangeBytes,
} from './internal/check.js';
import { decodeWith, encodeWith } from './internal/codec.js';
import { FIELD_LIMITS, MAX_ENCODED_BYTES } from './limits.js';

const wire = cloister.v1;

/**
 * One sealed envelope for one recipient device, as the sender submits it.
 *
 * @example
 * ```ts
 * // envelope: what sealEnvelope of @cloister/crypto returned
 * const delivery: SealedDelivery = { messageId: provider.randomBytes(16), envelope };
 * ```
 */
export interface SealedDelivery {
  /**
   * 16 random bytes chosen for this delivery alone (not `Content.messageId`): the server
   * deduplicates retries and acknowledges by it.
   */
  readonly messageId: Uint8Array;
  /** `sealEnvelope` / `sealEnvelopeForMany` output, unchanged; its outer header must parse. */
  readonly envelope: Uint8Array;
  /** The message's archive seal (`sealArchived`, or a signed version-2 seal) when it is archived; its header must parse (`peekArchiveSeal`). */
  readonly archiveSeal?: Uint8Array;
}

/**
 * The deliveries of one message to several devices: 1 .. 1024, distinct message ids, at most one
 * archive seal (one archived copy per message, not per device).
 *
 * @example
 * ```ts
 * const batch: SealedDeliveryBatch = {
 *   deliveries: envelopes.map((envelope) => ({ messageId: provider.randomBytes(16), envelope })),
 * };
 * ```
 */
export interface SealedDeliveryBatch {
  /** The deliveries, each with its own message id and envelope. */
  readonly deliveries: readonly SealedDelivery[];
}

/** Runs a crypto peek and reports its failure at `path` in the direction of `fail`. */
function peek(
  fail: Fail,
  bytes: Uint8Array,
  path: string,
  what: string,
  fn: (b: Uint8Array) => unknown,
): void {
  try {
    fn(bytes);
  } catch (e) {
    if (e instanceof DecodeError) fail(path, `${what} (${e.path}: ${e.message})`);
    throw e;
  }
}

function checkDelivery(fail: Fail, value: unknown, path: string): SealedDelivery {
  const o = object(fail, value, path);
  const messageId = fixedBytes(fail, o.messageId, `${path}.messageId`, MESSAGE_ID_LENGTH);
  const envelope = rangeBytes(fail, o.envelope, `${path}.envelope`, 1, FIELD_LIMITS.envelopeBytes);
  peek(fail, envelope, `${path}.envelope`, 'a sealed envelope', peekEnvelopeOuter);
  if (o.archiveSeal === undefined) return { messageId, envelope };
  const archiveSeal = rangeBytes(
    fail,
    o.archiveSeal,
    `${path}.archiveSeal`,
    1,
    FIELD_LIMITS.archiveSealBytes,
  );
  // The header must parse (any version: the server decides what it files); a version-3 seal keeps
  // its bindings sealed, so only `peekArchiveSeal` reads every version.
  peek(fail, archiveSeal, `${path}.archiveSeal`, 'an archive seal', peekArchiveSeal);
  return { messageId, envelope, archiveSeal };
}

function checkBatch(fail: Fail, value: unknown, path: string): SealedDeliveryBatch {
  const o = object(fail, value, path);
  const at = `${path}.deliveries`;
  const deliveries = list(fail, o.deliveries, at, 1, FIELD_LIMITS.batchDeliveries).map((d, i) =>
    checkDelivery(fail, d, `${at}[${i}]`),
  );
  distinct(fail, deliveries, at, (d) => toHex(d.messageId));
  const sealed = deliveries.flatMap((d, i) => (d.archiveSeal === undefined ? [] : [i]));
  if (sealed.length > 1) fail(`${at}[${sealed[1]}].archiveSeal`, 'at most one archive seal per batch');
  return { deliveries };
}

function deliveryCandidate(raw: cloister.v1.ISealedDelivery): unknown {
  return {
    messageId: raw.messageId,
    envelope: raw.envelope,
    archiveSeal: raw.archiveSeal === null ? undefined : raw.archiveSeal,
  };
}

function deliveryToWire(d: SealedDelivery): cloister.v1.ISealedDelivery {
  const raw: cloister.v1.ISealedDelivery = { messageId: d.messageId, envelope: d.envelope };
  if (d.archiveSeal !== undefined) raw.archiveSeal = d.archiveSeal;
  return raw;
}

/**
 * Encodes a {@link SealedDelivery} after checking the message id, that the envelope's outer
 * header parses (`peekEnvelopeOuter`) and that an archive seal's header parses
 * (`peekArchiveSeal`, every seal version). Throws `ValidationError` naming the field.
 *
 * @example
 * ```ts
 * import { encodeSealedDelivery } from '@cloister/protocol';
 * const frame = encodeSealedDelivery({ messageId: provider.randomBytes(16), envelope });
 * ```
 */
export function encodeSealedDelivery(delivery: SealedDelivery): Uint8Array {
  const checked = checkDelivery(encodeFail, delivery, 'sealedDelivery');
  return encodeWith(deliveryToWire(checked), 'sealedDelivery', MAX_ENCODED_BYTES.sealedDelivery, (m, w) =>
    wire.SealedDelivery.encode(m, w),
  );
}

/**
 * Decodes a {@link SealedDelivery}. Input longer than `MAX_ENCODED_BYTES.sealedDelivery` is
 * rejected before parsing. Throws `DecodeError` naming the field (`sealedDelivery.envelope`,
 * `sealedDelivery.archiveSeal`, ...). The server then routes with
 * `peekEnvelopeOuter(delivery.envelope)`.
 *
 * @example
 * ```ts
 * import { peekEnvelopeOuter } from '@cloister/crypto';
 * import { decodeSealedDelivery } from '@cloister/protocol';
 * const delivery = decodeSealedDelivery(frame);
 * const { mailbox, deliveryToken } = peekEnvelopeOuter(delivery.envelope);
 * ```
 */
export function decodeSealedDelivery(bytes: Uint8Array): SealedDelivery {
  return decodeWith(bytes, {
    root: 'sealedDelivery',
    maxBytes: MAX_ENCODED_BYTES.sealedDelivery,
    parse: (r) => wire.SealedDelivery.decode(r),
    convert: (raw, path) => checkDelivery(decodeFail, deliveryCandidate(raw), path),
  });
}

/**
 * Encodes a {@link SealedDeliveryBatch}: every delivery as {@link encodeSealedDelivery} checks
 * it, distinct message ids, at most one archive seal, at most `MAX_ENCODED_BYTES.sealedDeliveryBatch`
 * bytes in all (split larger fan-outs). Throws `ValidationError` naming the field.
 *
 * @example
 * ```ts
 * import { encodeSealedDeliveryBatch } from '@cloister/protocol';
 * const frame = encodeSealedDeliveryBatch({
 *   deliveries: envelopes.map((envelope) => ({ messageId: provider.randomBytes(16), envelope })),
 * });
 * ```
 */
export function encodeSealedDeliveryBatch(batch: SealedDeliveryBatch): Uint8Array {
  const checked = checkBatch(encodeFail, batch, 'sealedDeliveryBatch');
  return encodeWith(
    { deliveries: checked.deliveries.map(deliveryToWire) },
    'sealedDeliveryBatch',
    MAX_ENCODED_BYTES.sealedDeliveryBatch,
    (m, w) => wire.SealedDeliveryBatch.encode(m, w),
  );
}

/**
 * Decodes a {@link SealedDeliveryBatch}. Throws `DecodeError` naming the field, for example
 * `sealedDeliveryBatch.deliveries[3].envelope`.
 *
 * @example
 * ```ts
 * import { decodeSealedDeliveryBatch } from '@cloister/protocol';
 * const ids = decodeSealedDeliveryBatch(frame).deliveries.map((delivery) => delivery.messageId);
 * ```
 */
export function decodeSealedDeliveryBatch(bytes: Uint8Array): SealedDeliveryBatch {
  return decodeWith(bytes, {
    root: 'sealedDeliveryBatch',
    maxBytes: MAX_ENCODED_BYTES.sealedDeliveryBatch,
    parse: (r) => wire.SealedDeliveryBatch.decode(r),
    convert: (raw, path) =>
      checkBatch(decodeFail, { deliveries: raw.deliveries.map(deliveryCandidate) }, path),
  });
}
