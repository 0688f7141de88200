/**
 * Publishing signed organisation objects (`spec/organisation.md` §10.3): the server verifies an
 * object an administrator signed on their own machine against the tenant's organisation root,
 * enforces the sequence rule per tenant and kind, then, in one transaction, records the sequence,
 * stores the object byte for byte, applies its effect and appends the audit record. The server
 * signs none of these objects and can change none of them: clients verify each against the root
 * they pinned.
 *
 * Effects by kind:
 * - `policy-layer`: stored per layer, and its document written to the policy store (the server's
 *   own enforcement and the `features` answer of `GET /v1/policy` follow the signed layer); a
 *   tenant keeps at most {@link MAX_GROUP_LAYERS} group layers, every one of which is served to
 *   each of its devices (`spec/server-policy.md` §1), so a new one beyond them is refused;
 * - `wipe`: stored as the device's wipe (pending), the device blocked, audited `device.wipe`; the
 *   device's open sockets are woken so that they close;
 * - `broadcast`: kept (newest first);
 * - `pool-rules`: kept, and each existing pool's `mayContact` set to its rule (none: empty);
 * - `device-admission`: kept per user;
 * - `certificate-delegation`: kept (newest first); it must name the tenant's server signing key.
 *
 * @module
 */
import { ForbiddenError, ValidationError } from '@cloister/crypto';
import {
  groupId,
  MAX_GROUP_LAYERS,
  type OrganisationObjectKind,
  organisationObjectScope,
  type PoolId,
  poolId,
  type SignedOrganisationObject,
  type TenantId,
  tenantId,
  userId,
  verifyOrganisationObject,
} from '@cloister/protocol';
import { type RecordValue, type StorageTx, txExecutor } from '@cloister/storage';
import type { ServerContext } from '../context.js';
import {
  ConflictError,
  createAuditLog,
  createDeviceStore,
  createOrganisationStore,
  createPolicyStore,
  createPoolStore,
  createTenantStore,
  createUserStore,
  type Device,
  NotFoundError,
  type PolicyDocument,
  type PolicyLayer,
  type Pool,
} from '../store/index.js';
import { recordWipe } from '../wipe.js';
import { requireOrganisationRoot } from './root.js';

/**
 * Options of {@link publishOrganisationObject}.
 *
 * @example
 * ```ts
 * const options: PublishOrganisationObjectOptions = { actor: auth.admin.id, signer: auth.admin.id, kind: 'broadcast' };
 * await publishOrganisationObject(ctx, auth.tenant, signedObject, options);
 * ```
 */
export interface PublishOrganisationObjectOptions {
  /** Who publishes, for the audit record. */
  readonly actor: string;
  /** When given, the object's certificate must certify this administrator (`ForbiddenError` otherwise). */
  readonly signer?: string;
  /** When given, the object must be of this kind (`ValidationError('object.kind')` otherwise). */
  readonly kind?: OrganisationObjectKind;
}

/**
 * What {@link publishOrganisationObject} answers.
 *
 * @example
 * ```ts
 * const published: PublishedOrganisationObject = await publishOrganisationObject(ctx, tenant, signedObject, { actor: admin.id });
 * console.log(published.kind, published.sequence, published.scope); // 'broadcast' 4 'broadcast'
 * ```
 */
export interface PublishedOrganisationObject {
  /** The object's kind. */
  readonly kind: OrganisationObjectKind;
  /** The object's sequence number, now the newest accepted for its kind. */
  readonly sequence: number;
  /** The object's scope (`policy-layer/user/alice`, `broadcast`, …). */
  readonly scope: string;
}

/** The audit action of each kind. */
const AUDIT_ACTION: { readonly [K in OrganisationObjectKind]: string } = {
  'policy-layer': 'organisation.policy-layer',
  wipe: 'device.wipe',
  broadcast: 'organisation.broadcast',
  'pool-rules': 'organisation.pool-rules',
  'device-admission': 'organisation.device-admission',
  'certificate-delegation': 'organisation.certificate-delegation',
};

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** The store's layer of a signed policy layer. */
function policyLayerOf(
  tenant: TenantId,
  o: SignedOrganisationObject & { kind: 'policy-layer' },
): PolicyLayer {
  const { layer, target } = o.payload;
  switch (layer) {
    case 'tenant':
      return { kind: 'tenant', tenant };
    case 'pool':
      return { kind: 'pool', tenant, pool: poolId(target) };
    case 'group':
      return { kind: 'group', tenant, group: groupId(target) };
    case 'user':
      return { kind: 'user', tenant, user: userId(target) };
  }
}

/** The audit target of an object. */
function auditTarget(tenant: TenantId, o: SignedOrganisationObject): string {
  switch (o.kind) {
    case 'policy-layer':
      return o.payload.target === null ? tenant : `${o.payload.layer}:${o.payload.target}`;
    case 'wipe':
      return `${o.payload.user}/${o.payload.deviceId}`;
    case 'device-admission':
      return `${o.payload.user}/${o.payload.deviceId}`;
    case 'broadcast':
      return b64(o.payload.broadcastId);
    default:
      return tenant;
  }
}

/** Sets each existing pool's `mayContact` to its rule (an empty list for a pool without one). */
async function applyPoolRules(
  tx: StorageTx,
  tenant: TenantId,
  o: SignedOrganisationObject & { kind: 'pool-rules' },
): Promise<number> {
  const pools = createPoolStore(txExecutor(tx));
  const rules = new Map<PoolId, readonly PoolId[]>(o.payload.rules.map((r) => [r.pool, r.mayContact]));
  const existing: Pool[] = [];
  let after: string | undefined;
  do {
    const page = await pools.list(tenant, { limit: 1000, ...(after === undefined ? {} : { after }) });
    existing.push(...page.items);
    after = page.next;
  } while (after !== undefined);
  let changed = 0;
  for (const pool of existing) {
    const want = [...(rules.get(pool.id) ?? [])].sort();
    if (want.length === pool.mayContact.length && want.every((p, i) => p === pool.mayContact[i])) continue;
    await pools.put(tenant, pool.id, { name: pool.name, mayContact: want });
    changed += 1;
  }
  return changed;
}

/**
 * Verifies and publishes a signed organisation object for `tenant`. Refusals, nothing written:
 * `ConflictError('organisation-root')` when the tenant has no root; the verifier's errors
 * (`DecodeError`, `InvalidKeyError` for another root, tenant, an expired or forged certificate or
 * signature, `ForbiddenError` for a role that may not sign the kind or a non-tenant layer naming
 * `archive`), with `now = ctx.now()`; `ValidationError('object.kind')` for another kind than
 * `options.kind`; `ForbiddenError` when `options.signer` is not the certified administrator;
 * `ConflictError('organisation-sequence')` unless the sequence is greater than the newest of its
 * kind; `ConflictError('group-layers')` for a group layer of a group without one when the tenant
 * has {@link MAX_GROUP_LAYERS} already; `NotFoundError('device')` for a wipe or `NotFoundError('user')` for an admission naming
 * what the tenant does not have; `ValidationError('payload.serverSigningPublicKey')` for a
 * delegation to another key than the tenant's server signing key. Then the sequence, the object,
 * its effect and the audit record are written in one transaction.
 *
 * @example
 * ```ts
 * import { tenantId } from '@cloister/protocol';
 *
 * const { kind, sequence, scope } = await publishOrganisationObject(ctx, tenantId('acme'), signedObject, { actor: admin.id });
 * ```
 */
export async function publishOrganisationObject(
  ctx: ServerContext,
  tenant: TenantId,
  bytes: Uint8Array,
  options: PublishOrganisationObjectOptions,
): Promise<PublishedOrganisationObject> {
  const tid = tenantId(tenant);
  if (!(bytes instanceof Uint8Array)) throw new ValidationError('object', 'the bytes of a signed object');
  if (typeof options !== 'object' || options === null || typeof options.actor !== 'string') {
    throw new ValidationError('options.actor', 'a string');
  }
  const root = await requireOrganisationRoot(ctx, tid);
  const now = ctx.now();
  const o = await verifyOrganisationObject(ctx.provider, bytes, {
    rootPublicKey: root.rootPublicKey,
    tenant: tid,
    now,
  });
  if (options.kind !== undefined && o.kind !== options.kind) {
    throw new ValidationError('object.kind', `an object of kind ${options.kind}`);
  }
  if (options.signer !== undefined && o.certificate.admin !== options.signer) {
    throw new ForbiddenError('the object is signed under another administrator’s certificate');
  }
  // A broadcast travels end to end (POST /admin/v1/broadcasts, spec/broadcast.md): the server
  // never stores its signed object.
  if (o.kind === 'broadcast')
    throw new ValidationError('object.kind', 'a broadcast goes through POST /admin/v1/broadcasts');
  const scope = organisationObjectScope(o);
  let mailbox: Device['mailbox'] | undefined;
  await ctx.adapter.transaction(async (tx) => {
    const run = txExecutor(tx);
    const organisation = createOrganisationStore(run);
    const details: { [key: string]: RecordValue } = {
      kind: o.kind,
      sequence: o.sequence,
      scope,
      signer: o.certificate.admin,
      certificateSerial: o.certificate.serial,
    };
    await organisation.advanceSequence(tid, o.kind, o.sequence);
    switch (o.kind) {
      case 'policy-layer': {
        if (
          o.payload.layer === 'group' &&
          (await organisation.get(tid, 'policy-layer', scope)) === undefined &&
          (await organisation.groupLayers(tid, MAX_GROUP_LAYERS + 1)).length >= MAX_GROUP_LAYERS
        ) {
          throw new ConflictError(
            'group-layers',
            `the tenant has ${MAX_GROUP_LAYERS} group layers, the most every device is served`,
          );
        }
        const document = o.payload.document as unknown as PolicyDocument;
        await createPolicyStore(run).set(policyLayerOf(tid, o), document);
        break;
      }
      case 'wipe': {
        const devices = createDeviceStore(run);
        const device = await devices.get(tid, o.payload.user, o.payload.deviceId);
        if (device === undefined) throw new NotFoundError('device');
        const commandId = b64(o.payload.commandId);
        await recordWipe(
          tx,
          { tenant: tid, user: o.payload.user, device: o.payload.deviceId },
          { commandId, command: bytes.slice(), issuedAt: o.issuedAtMs, confirmedAt: null },
        );
        await devices.update(tid, o.payload.user, o.payload.deviceId, { blocked: true });
        details.commandId = commandId;
        mailbox = device.mailbox;
        break;
      }
      case 'pool-rules':
        details.poolsChanged = await applyPoolRules(tx, tid, o);
        break;
      case 'device-admission':
        if ((await createUserStore(run).get(tid, o.payload.user)) === undefined) {
          throw new NotFoundError('user');
        }
        break;
      case 'certificate-delegation': {
        const t = await createTenantStore(run).get(tid);
        if (t === undefined) throw new NotFoundError('tenant');
        const key = o.payload.serverSigningPublicKey;
        if (key.length !== t.signingKey.length || !key.every((b, i) => b === t.signingKey[i])) {
          throw new ValidationError('payload.serverSigningPublicKey', "the tenant's server signing key");
        }
        details.notBeforeMs = o.payload.notBeforeMs;
        details.notAfterMs = o.payload.notAfterMs;
        break;
      }
    }
    if (o.kind !== 'wipe') {
      await organisation.put(tid, {
        kind: o.kind,
        scope,
        sequence: o.sequence,
        issuedAtMs: o.issuedAtMs,
        admin: o.certificate.admin,
        bytes,
      });
    }
    await createAuditLog(run, ctx.provider).append(tid, {
      actor: options.actor,
      action: AUDIT_ACTION[o.kind],
      target: auditTarget(tid, o),
      outcome: 'success',
      at: now,
      details,
    });
  });
  if (mailbox !== undefined) await ctx.bus.notify(mailbox, 'recheck').catch(() => undefined);
  return { kind: o.kind, sequence: o.sequence, scope };
}

/**
 * The sequence the next object of `kind` must carry at least: one more than the newest accepted.
 *
 * @example
 * ```ts
 * import { tenantId } from '@cloister/protocol';
 *
 * const sequence = await nextOrganisationSequence(ctx, tenantId('acme'), 'wipe'); // the sequence to sign the next wipe with
 * ```
 */
export async function nextOrganisationSequence(
  ctx: Pick<ServerContext, 'stores'>,
  tenant: TenantId,
  kind: OrganisationObjectKind,
): Promise<number> {
  return (await ctx.stores.organisation.sequence(tenantId(tenant), kind)) + 1;
}
