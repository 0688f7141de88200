/**
 * The recipient's half of issue 13, attack 4 (spec/revocations.md): the tenant's signed revocation
 * list and this user's signed reach statement, both from `GET /v1/policy` and both signed with the
 * tenant key that signs sender certificates. {@link acceptRevocations} verifies and pins them
 * (never an older version than the pinned one); {@link certificateRefusal} is the rule
 * `receiveDelivery` applies to every opened envelope, right after its certificate was checked.
 * No I/O beyond the caller's transaction.
 *
 * @module
 */
import { type CryptoProvider, DecodeError, equalBytes, InvalidKeyError } from '@cloister/crypto';
import {
  decodeReachStatement,
  decodeRevocationList,
  isRevoked,
  reaches,
  type SignedReachStatement,
  type SignedRevocationList,
  verifyReachStatement,
  verifyRevocationList,
} from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import { CLIENT_LOCAL_TABLES, field, getRecord, isBytes, putRecord } from '../local.js';

const PATH = CLIENT_LOCAL_TABLES.revocations;
const LIST_KEY = 'list';
const REACH_KEY = 'reach';

/** What a recipient holds: the newest verified revocation list and reach statement, if any. */
export interface RevocationState {
  readonly list?: SignedRevocationList;
  readonly reach?: SignedReachStatement;
}

/** Who this device is, as far as the rule needs it. */
export interface RevocationSelf {
  readonly provider: CryptoProvider;
  readonly tenant: string;
  readonly userId: string;
  readonly tenantPublicKey: Uint8Array;
}

/** The parts of a certificate the rule reads. */
export interface CertificateNames {
  readonly userId: string;
  readonly deviceId: number;
  readonly pools: readonly string[];
}

async function loadBytes(tx: StorageTx, key: string): Promise<Uint8Array | undefined> {
  const record = await getRecord(tx, CLIENT_LOCAL_TABLES.revocations, key, PATH);
  return record === undefined ? undefined : field(record, 'bytes', PATH, isBytes);
}

/** The pinned revocation list and reach statement (decoded; they were verified when pinned). */
export async function loadRevocationState(tx: StorageTx): Promise<RevocationState> {
  const list = await loadBytes(tx, LIST_KEY);
  const reach = await loadBytes(tx, REACH_KEY);
  return {
    ...(list === undefined ? {} : { list: decodeRevocationList(list) }),
    ...(reach === undefined ? {} : { reach: decodeReachStatement(reach) }),
  };
}

function decoded<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array, path: string): T {
  try {
    return decode(bytes);
  } catch (e) {
    if (e instanceof DecodeError) throw new InvalidKeyError(path, e.message);
    throw e;
  }
}

/**
 * Verifies the signed objects of a policy answer and pins them, in the caller's transaction.
 * Each must decode, name this tenant (and, for the reach statement, this user) and verify under
 * the tenant key. A revocation list older than the pinned one, or of the same version with other
 * bytes, is refused; so is a reach statement of a lower version, or of the same version issued
 * earlier. Anything refused throws `InvalidKeyError` and pins nothing (check both, then write).
 *
 * @example
 * ```ts
 * await stores.transaction((t) => acceptRevocations(self, t.tx, { revocations, reach }));
 * ```
 */
export async function acceptRevocations(
  self: RevocationSelf,
  tx: StorageTx,
  input: { readonly revocations?: Uint8Array | undefined; readonly reach?: Uint8Array | undefined },
): Promise<{ readonly changed: boolean }> {
  const held = await loadRevocationState(tx);
  const writes: [string, Uint8Array][] = [];
  if (input.revocations !== undefined) {
    const list = decoded(decodeRevocationList, input.revocations, 'revocations');
    await verifyRevocationList(self.provider, list, {
      tenant: self.tenant,
      tenantPublicKey: self.tenantPublicKey,
    });
    const pinned = held.list;
    if (pinned !== undefined && list.version < pinned.version) {
      throw new InvalidKeyError('revocations.version', 'older than the list this device holds');
    }
    if (pinned !== undefined && list.version === pinned.version && !equalBytes(list.bytes, pinned.bytes)) {
      throw new InvalidKeyError('revocations.version', 'another list with the version this device holds');
    }
    if (pinned === undefined || list.version > pinned.version) writes.push([LIST_KEY, list.bytes]);
  }
  if (input.reach !== undefined) {
    const reach = decoded(decodeReachStatement, input.reach, 'reach');
    await verifyReachStatement(self.provider, reach, {
      tenant: self.tenant,
      user: self.userId,
      tenantPublicKey: self.tenantPublicKey,
    });
    const pinned = held.reach;
    if (
      pinned !== undefined &&
      (reach.version < pinned.version ||
        (reach.version === pinned.version && reach.issuedAtMs < pinned.issuedAtMs))
    ) {
      throw new InvalidKeyError('reach.version', 'older than the statement this device holds');
    }
    if (pinned === undefined || !equalBytes(reach.bytes, pinned.bytes)) writes.push([REACH_KEY, reach.bytes]);
  }
  for (const [key, bytes] of writes) await putRecord(tx, CLIENT_LOCAL_TABLES.revocations, key, { bytes });
  return { changed: writes.length > 0 };
}

/**
 * The rule (spec/revocations.md §4): why content under `certificate` is refused, or undefined.
 *
 * - `revoked`: the pinned revocation list names the certificate's user (every device) or its
 *   (user, device). Every certificate of such a sender is refused while the entry is on the newest
 *   list this device holds, whatever its expiry and whenever the content was sent: a certificate
 *   carries no issue time, so "issued before the revocation" cannot be told from "after".
 * - `pools`: the sender is another user and the pools its certificate lists may not reach this
 *   user by the pinned reach statement (an open-area sender reaches only an open-area user; else
 *   some pool of the sender must be one that may reach this user).
 *
 * Nothing pinned, nothing refused (a device that never fetched the policy applies no rule).
 *
 * @example
 * ```ts
 * certificateRefusal(state, { userId: 'mallory', deviceId: 1, pools: [] }, 'bob'); // 'revoked' if listed
 * ```
 */
export function certificateRefusal(
  state: RevocationState,
  certificate: CertificateNames,
  selfUserId: string,
): 'revoked' | 'pools' | undefined {
  if (
    state.list !== undefined &&
    isRevoked(state.list, certificate.userId, certificate.deviceId) !== undefined
  ) {
    return 'revoked';
  }
  if (
    state.reach !== undefined &&
    certificate.userId !== selfUserId &&
    !reaches(state.reach, certificate.pools)
  ) {
    return 'pools';
  }
  return undefined;
}

/**
 * Loads the pinned state and applies {@link certificateRefusal}; what `receiveDelivery` calls.
 *
 * @example
 * ```ts
 * if ((await refusedCertificate(tx, certificate, self.userId)) !== undefined) refuse();
 * ```
 */
export async function refusedCertificate(
  tx: StorageTx,
  certificate: CertificateNames,
  selfUserId: string,
): Promise<'revoked' | 'pools' | undefined> {
  return certificateRefusal(await loadRevocationState(tx), certificate, selfUserId);
}
