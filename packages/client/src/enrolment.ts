/**
 * Enrolment and unlocking: creating this device's identity and registering it with a single-use
 * token, pinning the organisation root whose fingerprint the enrolment code or the MDM
 * configuration carries (spec/organisation-client.md §2), protecting the local data with a PIN,
 * opening it again with the PIN, and forgetting the keys in memory on lock. The registration (ids,
 * credential, the tenant's key, the pinned root) is kept encrypted.
 *
 * @module
 */
import {
  type DeviceId,
  type DeviceIdentity,
  generateDeviceIdentity,
  InvalidKeyError,
  deviceId as toDeviceId,
  toPublicIdentity,
  registrationId as toRegistrationId,
  UsageError,
  ValidationError,
  wipe,
  wrapDataKey,
} from '@cloister/crypto';
import {
  equalRootFingerprints,
  parseRootFingerprint,
  ROOT_FINGERPRINT_PREFIX,
  rootMatchesFingerprint,
  userId as toUserId,
  type UserId,
} from '@cloister/protocol';
import {
  adapterExecutor,
  type EncryptedAdapterHandle,
  openEncryptedAdapter,
  type StorageTx,
  txExecutor,
} from '@cloister/storage';
import { toBase64Url as b64, fromBase64Url, requireBase64Url } from './_base64.js';
import type { ClientContext, Registration } from './context.js';
import type { CoreSelf, CoreTx } from './core/index.js';
import { signEnrolmentProofBytes } from './enrolment-proof.js';
import { EnrolmentRefusedError, NotEnrolledError } from './errors.js';
import {
  CLIENT_LOCAL_TABLES,
  deleteRecord,
  field,
  getRecord,
  isBytes,
  isNumber,
  isString,
  putRecord,
} from './local.js';
import { checkNewPin, DEFAULT_MIN_PIN_LENGTH } from './options.js';
import { createOutbox, OUTBOX_ORDERED_TABLES } from './outbox/index.js';
import { bindClientStores, CLIENT_ORDERED_TABLES } from './store/index.js';
import { expectOk, type TransportResponse } from './transport/common.js';
import { ServerError } from './transport/errors.js';
import { openDataKey, storeWrappedKey } from './vault.js';

const REGISTRATION = CLIENT_LOCAL_TABLES.registration;
const REG_PATH = 'c_registration';
const REG_KEY = 'registration';

/** What `enroll` takes besides the code. */
export interface EnrolOptions {
  readonly pin: string;
  readonly userId?: string;
  readonly displayName?: string;
  /**
   * The organisation root's fingerprint (`cloister-root:v1:…`) from the MDM configuration, for a
   * code that is the plain 43-character token. With a fingerprint from either source the server's
   * answer must carry the matching root, or enrolment fails and nothing is stored.
   */
  readonly organisationRoot?: string;
  /**
   * The tenant the MDM configuration names: the server's answer must enrol into it, else
   * `InvalidKeyError` with field `tenant` and nothing is stored.
   */
  readonly tenant?: string;
}

/**
 * Splits an enrolment code into its token and the organisation root fingerprint it carries: the
 * 87-character `<token>.<digest>` (the digest being the 43 characters after `cloister-root:v1:`)
 * or a plain 43-character token with `organisationRoot` from the MDM configuration. Both given
 * must name the same root. `ValidationError` otherwise.
 *
 * @example
 * ```ts
 * const { token, fingerprint } = parseEnrolmentCode(code); // fingerprint: "cloister-root:v1:…" or undefined
 * ```
 */
export function parseEnrolmentCode(
  code: string,
  organisationRoot?: string,
): { readonly token: string; readonly fingerprint: string | undefined } {
  const m = typeof code === 'string' ? /^([A-Za-z0-9_-]{43})(?:\.([A-Za-z0-9_-]{43}))?$/.exec(code) : null;
  if (m === null) {
    throw new ValidationError('token', 'a 43-character enrolment token, or an 87-character enrolment code');
  }
  const fromCode = m[2] === undefined ? undefined : ROOT_FINGERPRINT_PREFIX + m[2];
  if (fromCode !== undefined) parseRootFingerprint(fromCode);
  if (organisationRoot !== undefined) {
    if (typeof organisationRoot !== 'string')
      throw new ValidationError('organisationRoot', 'a root fingerprint');
    parseRootFingerprint(organisationRoot);
    if (fromCode !== undefined && !equalRootFingerprints(fromCode, organisationRoot)) {
      throw new ValidationError('organisationRoot', 'the fingerprint the enrolment code carries');
    }
  }
  return { token: m[1] as string, fingerprint: fromCode ?? organisationRoot };
}

/** `expectOk` for the enrolment answer: the organisation's allowlist refusal is {@link EnrolmentRefusedError}. */
function expectEnrolled(response: TransportResponse): TransportResponse {
  try {
    return expectOk(response);
  } catch (e) {
    if (e instanceof ServerError && e.status === 403 && e.serverCode === 'ERR_NOT_ALLOWLISTED') {
      throw new EnrolmentRefusedError();
    }
    throw e;
  }
}

/**
 * Creates the identity, registers it with the code's token, pins the organisation root when the
 * code or `options.organisationRoot` names one (the answer's `organisationRoot` must match its
 * fingerprint, else `InvalidKeyError` with field `organisationRoot` and nothing is stored), stores
 * the identity and the registration encrypted under a new data key wrapped with `options.pin` (the
 * wrapped key last: until it is stored the client is still unenrolled), and unlocks. Publishing
 * the prekeys is the caller's next step.
 */
export async function enrol(
  ctx: ClientContext,
  code: string,
  options: EnrolOptions,
): Promise<{ registration: Registration; identity: DeviceIdentity; registrationId: number }> {
  if (ctx.status !== 'unenrolled') throw new UsageError(`cannot enrol: the client is ${ctx.status}`);
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const { token, fingerprint } = parseEnrolmentCode(code, options.organisationRoot);
  // Before the token is spent: a PIN the client would refuse must not cost the enrolment code.
  checkNewPin(options.pin, ctx.options.minPinLength ?? DEFAULT_MIN_PIN_LENGTH, 'pin');
  const p = ctx.provider;
  const identity = await generateDeviceIdentity(p);
  const pub = toPublicIdentity(identity);
  const regId = new DataView((await p.randomBytes(4)).buffer).getUint32(0) & 0x3fff_ffff;
  const proof = await signEnrolmentProofBytes(p, identity.signingKeyPair.privateKey, token, pub);
  const anonymous = ctx.factory()({ url: ctx.options.server.url, pin: ctx.options.server.pin });
  const user =
    options.userId === undefined
      ? undefined
      : {
          id: options.userId,
          ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
        };
  const res = expectEnrolled(
    await anonymous.request('POST', '/v1/enrol', {
      json: {
        token,
        ...(user === undefined ? {} : { user }),
        device: {
          identity: {
            signingKey: b64(pub.signingKey),
            dhKey: b64(pub.dhKey),
            dhKeySignature: b64(pub.dhKeySignature),
          },
          registrationId: regId,
          proof: b64(proof),
        },
      },
    }),
  ).json as {
    tenant: string;
    user: string;
    deviceId: number;
    mailbox: string;
    credential: string;
    tenantSigningKey: string;
    organisationRoot?: string;
  };
  if (options.tenant !== undefined && res.tenant !== options.tenant) {
    throw new InvalidKeyError('tenant', 'the server enrolled the device into another tenant');
  }
  let organisationRoot: Uint8Array | undefined;
  if (fingerprint !== undefined) {
    const served = fromBase64Url(res.organisationRoot);
    if (served?.length !== 32 || !(await rootMatchesFingerprint(p, served, fingerprint))) {
      throw new InvalidKeyError('organisationRoot', 'the server did not give the root the fingerprint names');
    }
    organisationRoot = served;
  }
  const registration: Registration = {
    tenant: res.tenant,
    userId: toUserId(res.user),
    deviceId: toDeviceId(res.deviceId),
    mailbox: res.mailbox,
    credential: requireBase64Url(res.credential),
    tenantPublicKey: requireBase64Url(res.tenantSigningKey),
    ...(organisationRoot === undefined ? {} : { organisationRoot }),
  };
  const { dataKey, record } = await wrapDataKey(p, { pin: options.pin, ...ctx.options.pinWrap });
  const adapter = await openEncrypted(ctx, dataKey);
  wipe(dataKey);
  await bindClientStores(adapterExecutor(adapter)).ownIdentity.set({
    identity,
    registrationId: toRegistrationId(regId),
    deviceId: registration.deviceId,
    userId: registration.userId,
  });
  await adapter.transaction((tx) =>
    putRecord(tx, REGISTRATION, REG_KEY, {
      tenant: registration.tenant,
      userId: registration.userId,
      deviceId: registration.deviceId,
      mailbox: registration.mailbox,
      credential: registration.credential,
      tenantPublicKey: registration.tenantPublicKey,
      ...(organisationRoot === undefined ? {} : { organisationRoot }),
    }),
  );
  await storeWrappedKey(ctx, record);
  activate(ctx, adapter, registration, identity);
  return { registration, identity, registrationId: regId };
}

/** Opens the local data with `pin` (see `openDataKey` for wrong PINs) and unlocks. */
export async function unlock(ctx: ClientContext, pin: string): Promise<void> {
  if (ctx.status === 'unenrolled') throw new NotEnrolledError();
  if (ctx.status !== 'locked') throw new UsageError(`cannot unlock: the client is ${ctx.status}`);
  const dataKey = await openDataKey(ctx, pin);
  const adapter = await openEncrypted(ctx, dataKey);
  wipe(dataKey);
  const own = await bindClientStores(adapterExecutor(adapter)).ownIdentity.get();
  const reg = await adapter.transaction((tx) => getRecord(tx, REGISTRATION, REG_KEY, REG_PATH));
  if (own === undefined || reg === undefined) throw new UsageError('the local data is incomplete');
  const registration: Registration = {
    tenant: field(reg, 'tenant', REG_PATH, isString),
    userId: toUserId(field(reg, 'userId', REG_PATH, isString)),
    deviceId: toDeviceId(field(reg, 'deviceId', REG_PATH, isNumber)),
    mailbox: field(reg, 'mailbox', REG_PATH, isString),
    credential: field(reg, 'credential', REG_PATH, isBytes),
    tenantPublicKey: field(reg, 'tenantPublicKey', REG_PATH, isBytes),
    ...(reg.organisationRoot === undefined
      ? {}
      : { organisationRoot: field(reg, 'organisationRoot', REG_PATH, isBytes) }),
  };
  activate(ctx, adapter, registration, own.identity);
}

/** Forgets the unlocked device (the caller has stopped everything first); `ready` becomes `locked`. */
export function forget(ctx: ClientContext): void {
  const u = ctx.unlocked;
  ctx.unlocked = undefined;
  if (u !== undefined) {
    wipe(u.registration.credential);
    if (ctx.status === 'ready') ctx.status = 'locked';
  }
}

/** Deletes the registration record (a remote wipe does, with the rest of the local data). */
export async function deleteRegistration(tx: StorageTx): Promise<void> {
  await deleteRecord(tx, REGISTRATION, REG_KEY);
}

/** The user and device this client is, once unlocked. */
export function me(ctx: ClientContext): {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly tenant: string;
} {
  const u = ctx.ready();
  return { userId: u.registration.userId, deviceId: u.registration.deviceId, tenant: u.registration.tenant };
}

async function openEncrypted(ctx: ClientContext, dataKey: Uint8Array): Promise<EncryptedAdapterHandle> {
  return openEncryptedAdapter(ctx.options.storage, {
    dataKey,
    provider: ctx.provider,
    orderedTables: [...CLIENT_ORDERED_TABLES, ...OUTBOX_ORDERED_TABLES],
  });
}

function activate(
  ctx: ClientContext,
  adapter: EncryptedAdapterHandle,
  registration: Registration,
  identity: DeviceIdentity,
): void {
  const self: CoreSelf = {
    provider: ctx.provider,
    userId: registration.userId,
    deviceId: registration.deviceId,
    identity,
    tenant: registration.tenant,
    tenantPublicKey: registration.tenantPublicKey,
    ...(registration.organisationRoot === undefined
      ? {}
      : { organisationRoot: registration.organisationRoot }),
    mailbox: registration.mailbox,
    suites: ctx.suites,
    ...(ctx.options.organisationAdmission === undefined
      ? {}
      : { organisationAdmission: ctx.options.organisationAdmission }),
  };
  const outboxOptions = { ...ctx.options.outbox, now: ctx.now };
  const outbox = createOutbox(adapterExecutor(adapter), outboxOptions);
  const stores = {
    ...bindClientStores(adapterExecutor(adapter)),
    transaction: <T>(fn: (t: CoreTx) => Promise<T>) =>
      adapter.transaction((tx) => {
        const run = txExecutor(tx);
        return fn({ stores: bindClientStores(run), tx, outbox: createOutbox(run, outboxOptions) });
      }),
  };
  const transport = ctx.factory()({
    url: ctx.options.server.url,
    pin: ctx.options.server.pin,
    credential: registration.credential,
  });
  const anonymous = ctx.factory()({ url: ctx.options.server.url, pin: ctx.options.server.pin });
  ctx.unlocked = { adapter, stores, outbox, self, registration, transport, anonymous };
  ctx.status = 'ready';
}
