/**
 * All server stores over one adapter, and a transaction that binds them all to one database
 * transaction (so that, for example, blocking a user and recording it in the audit log commit
 * together or not at all).
 *
 * @module
 */
import { type CryptoProvider, createNobleProvider, ValidationError } from '@cloister/crypto';
import type { StorageAdapter } from '@cloister/storage';
import { adapterExecutor, type Executor, txExecutor } from '@cloister/storage';
import { type AdministratorStore, createAdministratorStore } from './administrators.js';
import { type AllowlistStore, createAllowlistStore } from './allowlist.js';
import { type ArchiveStore, createArchiveStore } from './archive.js';
import { type ArchiveKeySetStore, createArchiveKeySetStore } from './archive-key-sets.js';
import { type AuditLog, createAuditLog } from './audit.js';
import { createServerBlobStore, type ServerBlobStore } from './blobs.js';
import { type BroadcastStore, createBroadcastStore } from './broadcasts.js';
import { createKeyBundleStore, type KeyBundleStore } from './bundles.js';
import { type ComplianceStore, createComplianceStore } from './compliance.js';
import { createDeliveryEpochStore, type DeliveryEpochStore } from './delivery-epochs.js';
import { createDeviceListStore, type DeviceListStore } from './device-lists.js';
import { createDeviceStore, type DeviceStore } from './devices.js';
import { createIntegrationStore, type IntegrationStore, withWebhookOutbox } from './integrations.js';
import { createJobStore, type JobStore } from './jobs.js';
import { createLegalHoldStore, type LegalHoldStore } from './legal-holds.js';
import { createMailboxSortKeys, createMailboxStore, type MailboxStore } from './mailboxes.js';
import { createOrganisationStore, type OrganisationStore } from './organisation.js';
import { createPolicyStore, type PolicyStore } from './policies.js';
import { createScimTokenStore, type ScimTokenStore } from './scim-tokens.js';
import { createStatisticsStore, type StatisticsStore } from './statistics.js';
import { subjectSealingAdapter } from './subjects.js';
import { createDomainStore, createTenantStore, type DomainStore, type TenantStore } from './tenants.js';
import { createUsageStore, type UsageStore } from './usage.js';
import { createPoolStore, createUserStore, type PoolStore, type UserStore } from './users.js';

/**
 * Options of {@link createServerStores}.
 *
 * @example
 * ```ts
 * const options: ServerStoresOptions = { provider, maxBlobBytes: 500 * 1024 * 1024 };
 * const serverStores = createServerStores(adapter, options);
 * ```
 */
export interface ServerStoresOptions {
  /** Crypto provider for audit hashes and random tie-breakers (default: the portable one). */
  readonly provider?: CryptoProvider;
  /** Largest blob in bytes (default `DEFAULT_MAX_BLOB_BYTES`, 2 GiB). */
  readonly maxBlobBytes?: number;
  /** Period of the archive's shredding keyring in ms (default `DEFAULT_ARCHIVE_SHRED_PERIOD_MS`, one day). */
  readonly archiveShredPeriodMs?: number;
}

/**
 * Every server store, each running its calls in one transaction of its own or of the caller.
 *
 * @example
 * ```ts
 * async function blockUser(s: ServerStoreSet) {
 *   await s.users.update(tenant, user, { blocked: true });
 *   await s.audit.append(tenant, { actor: admin.id, action: 'user.block', target: user, outcome: 'success' });
 * }
 * await stores.transaction(blockUser);
 * ```
 */
export interface ServerStoreSet {
  /** The tenants, their names, settings and signing keys. */
  readonly tenants: TenantStore;
  /** Each tenant's e-mail domains. */
  readonly domains: DomainStore;
  /** The users of each tenant. */
  readonly users: UserStore;
  /** The pools (closed areas) of each tenant. */
  readonly pools: PoolStore;
  /** Each tenant's allowlist of e-mail domains and users who may be invited and enrol. */
  readonly allowlist: AllowlistStore;
  /** The devices of users. */
  readonly devices: DeviceStore;
  /** Each device's latest compliance report (`spec/restrictions.md`). */
  readonly compliance: ComplianceStore;
  /** Each device's published key bundle and one-time pre-keys. */
  readonly bundles: KeyBundleStore;
  /** The per-device queues of sealed envelopes. */
  readonly mailboxes: MailboxStore;
  /** Encrypted attachment blobs, their chunks and upload state. */
  readonly blobs: ServerBlobStore;
  /** The policy documents of each layer (tenant, pool, user). */
  readonly policies: PolicyStore;
  /** Each tenant's hash-chained audit log. */
  readonly audit: AuditLog;
  /** Each tenant's compliance archive of sealed copies. */
  readonly archive: ArchiveStore;
  /** Each user's signed device lists (the current chain). */
  readonly deviceLists: DeviceListStore;
  /** The epochs delivery tokens are bound to (bumped by the user, device and pool stores). */
  readonly deliveryEpochs: DeliveryEpochStore;
  /** The administrators of each tenant, their API keys and sessions. */
  readonly administrators: AdministratorStore;
  /** Each tenant's organisation root, sequences and signed organisation objects. */
  readonly organisation: OrganisationStore;
  /** What each device's blobs, each tenant's blobs and each tenant's archive hold (the quotas' figures). */
  readonly usage: UsageStore;
  /** Usage statistics: counters and the per-period sets behind the distinct counts (`spec/statistics.md`). */
  readonly statistics: StatisticsStore;
  /** What the server keeps of each broadcast: ids, sequence, counts, per-device receipt state for dedup (no text). */
  readonly broadcasts: BroadcastStore;
  /** Each tenant's bulk jobs, their items and idempotency keys. */
  readonly jobs: JobStore;
  /** Integrations' API keys, webhook subscriptions, their outbox and delivery records. */
  readonly integrations: IntegrationStore;
  /** Each tenant's SCIM tokens (`spec/directory.md` §2). */
  readonly scimTokens: ScimTokenStore;
  /** Each tenant's archive key sets and the auditors' wrapped shares (`spec/archive-server.md` §1). */
  readonly archiveKeySets: ArchiveKeySetStore;
  /** Each tenant's legal holds (`spec/archive-server.md` §5). */
  readonly legalHolds: LegalHoldStore;
}

/**
 * {@link ServerStoreSet} plus a way to run several calls as one transaction.
 *
 * @example
 * ```ts
 * const serverStores: ServerStores = createServerStores(adapter);
 * await serverStores.transaction((s) => s.policies.delete({ kind: 'user', tenant, user }));
 * ```
 */
export interface ServerStores extends ServerStoreSet {
  /**
   * Runs `fn` with every store bound to one transaction: all its writes commit together, or
   * none when it throws. `fn` may run more than once (the adapter retries after a deadlock), so
   * it must have no effects outside the stores.
   *
   * @example
   * ```ts
   * const removed = await stores.transaction(async (s) => {
   *   const gone = await s.users.delete(tenant, user);
   *   await s.audit.append(tenant, { actor: admin.id, action: 'user.delete', target: user, outcome: gone ? 'success' : 'failure' });
   *   return gone;
   * });
   * ```
   */
  transaction<T>(fn: (stores: ServerStoreSet) => Promise<T>): Promise<T>;
}

/**
 * Creates every server store over `adapter` (memory, PGlite, PostgreSQL, or any of them under
 * encryption at rest with `SERVER_ORDERED_TABLES` as its ordered tables).
 *
 * @example
 * ```ts
 * import { createMemoryAdapter } from '@cloister/storage';
 *
 * const serverStores = createServerStores(createMemoryAdapter(), { provider });
 * await serverStores.transaction(async (s) => {
 *   await s.users.update(tenant, user, { blocked: true });
 *   await s.audit.append(tenant, { actor: admin.id, action: 'user.block', target: user, outcome: 'success' });
 * });
 * ```
 */
export function createServerStores(adapter: StorageAdapter, options: ServerStoresOptions = {}): ServerStores {
  if (typeof adapter !== 'object' || adapter === null || typeof adapter.transaction !== 'function') {
    throw new ValidationError('adapter', 'a StorageAdapter');
  }
  const provider = options.provider ?? createNobleProvider();
  if (typeof provider?.sha256 !== 'function' || typeof provider.randomBytes !== 'function') {
    throw new ValidationError('provider', 'a CryptoProvider');
  }
  // A person's rows are sealed under their own key (erasure by crypto-shredding, `store/subjects.ts`).
  const sealed = subjectSealingAdapter(adapter, provider);
  const blobOptions =
    options.maxBlobBytes === undefined ? { provider } : { provider, maxBlobBytes: options.maxBlobBytes };
  const archiveOptions =
    options.archiveShredPeriodMs === undefined ? {} : { shredPeriodMs: options.archiveShredPeriodMs };
  // One sort-key sequence for every transaction's mailbox store.
  const mailboxSortKeys = createMailboxSortKeys(provider);
  const build = (run: Executor): ServerStoreSet => ({
    tenants: createTenantStore(run),
    domains: createDomainStore(run),
    users: createUserStore(run),
    pools: createPoolStore(run),
    allowlist: createAllowlistStore(run),
    devices: createDeviceStore(run),
    compliance: createComplianceStore(run),
    bundles: createKeyBundleStore(run),
    mailboxes: createMailboxStore(run, provider, mailboxSortKeys),
    blobs: createServerBlobStore(run, blobOptions),
    policies: createPolicyStore(run),
    // An audit record and the webhook events announcing it commit together.
    audit: withWebhookOutbox(run, (r) => createAuditLog(r, provider)),
    archive: createArchiveStore(run, provider, archiveOptions),
    deviceLists: createDeviceListStore(run),
    deliveryEpochs: createDeliveryEpochStore(run),
    administrators: createAdministratorStore(run),
    organisation: createOrganisationStore(run),
    usage: createUsageStore(run),
    statistics: createStatisticsStore(run, provider),
    broadcasts: createBroadcastStore(run),
    jobs: createJobStore(run),
    integrations: createIntegrationStore(run),
    scimTokens: createScimTokenStore(run),
    archiveKeySets: createArchiveKeySetStore(run),
    legalHolds: createLegalHoldStore(run),
  });
  return {
    ...build(adapterExecutor(sealed)),
    transaction: (fn) => sealed.transaction((tx) => fn(build(txExecutor(tx)))),
  };
}
