/**
 * Tenants (organisations) and the e-mail domains they own. A domain belongs to at most one
 * tenant: the claim is an `ifAbsent` row keyed by the domain, written in the same transaction
 * as the tenant's own list of its domains.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import type { Executor, RecordValue, StorageTx } from '@cloister/storage';
import {
  checkBytesIn,
  checkId,
  checkJson,
  checkObject,
  checkPage,
  checkText,
  getRec,
  idFromKey,
  key,
  NO_SORT,
  type Rec,
  read,
  T,
  write,
} from './_util.js';
import type { ServerPage, ServerPageOptions } from './common.js';
import { ConflictError, NotFoundError } from './errors.js';

/**
 * Longest tenant display name, in characters.
 *
 * @example
 * ```ts
 * console.log(MAX_TENANT_NAME); // 256
 * ```
 */
export const MAX_TENANT_NAME = 256;
/**
 * Largest encoded tenant settings object, in bytes.
 *
 * @example
 * ```ts
 * console.log(MAX_TENANT_SETTINGS_BYTES); // 65536
 * ```
 */
export const MAX_TENANT_SETTINGS_BYTES = 64 * 1024;
/**
 * Most domains one tenant may own.
 *
 * @example
 * ```ts
 * console.log(MAX_DOMAINS_PER_TENANT); // 1000
 * ```
 */
export const MAX_DOMAINS_PER_TENANT = 1000;

/**
 * A tenant as stored.
 *
 * @example
 * ```ts
 * import { tenantId } from '@cloister/protocol';
 *
 * const acme: Tenant | undefined = await stores.tenants.get(tenantId('acme'));
 * console.log(acme?.name, acme?.settings);
 * ```
 */
export interface Tenant {
  /** The tenant's id. */
  readonly id: TenantId;
  /** Display name (at most {@link MAX_TENANT_NAME} characters). */
  readonly name: string;
  /** The tenant's Ed25519 public key (32 bytes) that signs sender certificates and admin commands. */
  readonly signingKey: Uint8Array;
  /** Free-form settings (JSON-like), at most {@link MAX_TENANT_SETTINGS_BYTES} encoded. */
  readonly settings: { readonly [key: string]: RecordValue };
  /** Creation time, ms since the epoch (the store's clock). */
  readonly createdAt: number;
}

/**
 * What {@link TenantStore.create} needs.
 *
 * @example
 * ```ts
 * import { tenantId } from '@cloister/protocol';
 *
 * const { publicKey } = await provider.ed25519.generateKeyPair();
 * const input: TenantInput = { name: 'ACME', signingKey: publicKey, settings: { locale: 'de' } };
 * await stores.tenants.create(tenantId('acme'), input);
 * ```
 */
export interface TenantInput {
  /** Display name (at most {@link MAX_TENANT_NAME} characters). */
  readonly name: string;
  /** The tenant's Ed25519 public signing key (32 bytes). */
  readonly signingKey: Uint8Array;
  /** Free-form settings (JSON-like), at most {@link MAX_TENANT_SETTINGS_BYTES} encoded (default `{}`). */
  readonly settings?: { readonly [key: string]: RecordValue };
}

/**
 * A change to a tenant: fields left out stay as they are.
 *
 * @example
 * ```ts
 * const { publicKey } = await provider.ed25519.generateKeyPair();
 * const patch: TenantPatch = { signingKey: publicKey };
 * await stores.tenants.update(tenant, patch);
 * ```
 */
export interface TenantPatch {
  /** A new display name (at most {@link MAX_TENANT_NAME} characters). */
  readonly name?: string;
  /** A new Ed25519 public signing key (32 bytes). */
  readonly signingKey?: Uint8Array;
  /** New settings, replacing the old ones whole (at most {@link MAX_TENANT_SETTINGS_BYTES} encoded). */
  readonly settings?: { readonly [key: string]: RecordValue };
}

/**
 * The tenants of a server.
 *
 * @example
 * ```ts
 * import { tenantId } from '@cloister/protocol';
 *
 * const { publicKey } = await provider.ed25519.generateKeyPair();
 * const acme = await stores.tenants.create(tenantId('acme'), { name: 'ACME', signingKey: publicKey });
 * ```
 */
export interface TenantStore {
  /**
   * Creates a tenant; `ConflictError('tenant')` when the id is taken.
   *
   * @example
   * ```ts
   * import { tenantId } from '@cloister/protocol';
   *
   * const { publicKey } = await provider.ed25519.generateKeyPair();
   * const acme = await stores.tenants.create(tenantId('acme'), { name: 'ACME', signingKey: publicKey });
   * ```
   */
  create(id: TenantId, input: TenantInput): Promise<Tenant>;
  /**
   * The tenant `id`, or `undefined`.
   *
   * @example
   * ```ts
   * const found = await stores.tenants.get(tenant);
   * console.log(found?.name, found?.settings);
   * ```
   */
  get(id: TenantId): Promise<Tenant | undefined>;
  /**
   * Changes a tenant; `NotFoundError('tenant')` when it does not exist.
   *
   * @example
   * ```ts
   * const renamed = await stores.tenants.update(tenant, { name: 'ACME Health' });
   * ```
   */
  update(id: TenantId, patch: TenantPatch): Promise<Tenant>;
  /**
   * Tenants, in id order (in a stable hashed order under encryption at rest).
   *
   * @example
   * ```ts
   * const page = await stores.tenants.list({ limit: 100 });
   * for (const t of page.items) console.log(t.id, t.name);
   * const more = page.next === undefined ? undefined : await stores.tenants.list({ after: page.next, limit: 100 });
   * ```
   */
  list(options?: ServerPageOptions): Promise<ServerPage<Tenant>>;
}

/**
 * The e-mail domains of tenants; each domain belongs to at most one tenant.
 *
 * @example
 * ```ts
 * import { tenantId } from '@cloister/protocol';
 *
 * await stores.domains.add(tenantId('acme'), 'acme.example');
 * const owner = await stores.domains.tenantOf('ACME.example'); // 'acme'
 * ```
 */
export interface DomainStore {
  /**
   * Gives `domain` to `tenant`: resolves `true` when added, `false` when the tenant already had
   * it; `ConflictError('domain')` when another tenant has it, `NotFoundError('tenant')`.
   *
   * @example
   * ```ts
   * const added = await stores.domains.add(tenant, 'acme.example'); // false when the tenant had it already
   * ```
   */
  add(tenant: TenantId, domain: string): Promise<boolean>;
  /**
   * Takes `domain` from `tenant`; resolves `false` when the tenant did not have it.
   *
   * @example
   * ```ts
   * const removed = await stores.domains.remove(tenant, 'acme.example'); // false when the tenant did not have it
   * ```
   */
  remove(tenant: TenantId, domain: string): Promise<boolean>;
  /**
   * The tenant owning `domain`, if any.
   *
   * @example
   * ```ts
   * const owner = await stores.domains.tenantOf('ACME.example'); // the owning tenant's id, or undefined
   * ```
   */
  tenantOf(domain: string): Promise<TenantId | undefined>;
  /**
   * The tenant's domains, sorted.
   *
   * @example
   * ```ts
   * const domains = await stores.domains.list(tenant); // → ['acme.example', 'acme.test']
   * ```
   */
  list(tenant: TenantId): Promise<string[]>;
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN_PATTERN = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);

/**
 * Checks a domain name (ASCII letters, digits and hyphens in dot-separated labels, at least two
 * labels; internationalised names in their `xn--` form) and returns it in lower case.
 *
 * @example
 * ```ts
 * normalizeDomain('ACME.example'); // 'acme.example'
 * ```
 */
export function normalizeDomain(domain: unknown): string {
  const d = typeof domain === 'string' ? domain.toLowerCase() : '';
  if (!DOMAIN_PATTERN.test(d)) throw new ValidationError('domain', 'a domain name such as acme.example');
  return d;
}

function checkSettings(value: unknown): { [key: string]: RecordValue } {
  const settings = checkJson(checkObject(value, 'settings'), 'settings') as { [key: string]: RecordValue };
  if (write(settings).length > MAX_TENANT_SETTINGS_BYTES) {
    throw new ValidationError('settings', `at most ${MAX_TENANT_SETTINGS_BYTES} bytes encoded`);
  }
  return settings;
}

function tenantFrom(id: TenantId, r: Rec): Tenant {
  const settings = r.obj('settings').data as { [key: string]: RecordValue };
  return {
    id,
    name: r.str('name', MAX_TENANT_NAME),
    signingKey: r.bytes('signingKey', 32, 32),
    settings,
    createdAt: r.int('createdAt'),
  };
}

function tenantRecord(t: Tenant): Uint8Array {
  return write({ name: t.name, signingKey: t.signingKey, settings: t.settings, createdAt: t.createdAt });
}

const TENANTS = new Uint8Array(0);
const enc = new TextEncoder();

/** @internal Reads a tenant inside a transaction. */
export async function loadTenant(tx: StorageTx, id: TenantId): Promise<Tenant | undefined> {
  const r = await getRec(tx, T.tenants, TENANTS, enc.encode(id));
  return r === undefined ? undefined : tenantFrom(id, r);
}

/**
 * Creates the tenant store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const tenants = createTenantStore(adapterExecutor(adapter));
 * const page = await tenants.list({ limit: 100 });
 * ```
 */
export function createTenantStore(run: Executor): TenantStore {
  return {
    async create(id, input) {
      const tid = checkId(id, 'id', tenantId);
      const i = checkObject(input, 'input');
      const name = checkText(i.name, 'name', MAX_TENANT_NAME);
      const signingKey = checkBytesIn(i.signingKey, 'signingKey', 32, 32).slice();
      const settings = i.settings === undefined ? {} : checkSettings(i.settings);
      return run(async (tx) => {
        const tenant: Tenant = { id: tid, name, signingKey, settings, createdAt: tx.now };
        const ok = await tx.put(
          T.tenants,
          { partition: TENANTS, sort: enc.encode(tid), value: tenantRecord(tenant) },
          { ifAbsent: true },
        );
        if (!ok) throw new ConflictError('tenant', 'the id is taken');
        return tenant;
      });
    },

    async get(id) {
      const tid = checkId(id, 'id', tenantId);
      return run((tx) => loadTenant(tx, tid), { readOnly: true });
    },

    async update(id, patch) {
      const tid = checkId(id, 'id', tenantId);
      const p = checkObject(patch, 'patch');
      const name = p.name === undefined ? undefined : checkText(p.name, 'name', MAX_TENANT_NAME);
      const signingKey =
        p.signingKey === undefined ? undefined : checkBytesIn(p.signingKey, 'signingKey', 32, 32).slice();
      const settings = p.settings === undefined ? undefined : checkSettings(p.settings);
      return run(async (tx) => {
        const r = await getRec(tx, T.tenants, TENANTS, enc.encode(tid), true);
        if (r === undefined) throw new NotFoundError('tenant');
        const before = tenantFrom(tid, r);
        const after: Tenant = {
          ...before,
          ...(name === undefined ? {} : { name }),
          ...(signingKey === undefined ? {} : { signingKey }),
          ...(settings === undefined ? {} : { settings }),
        };
        await tx.put(T.tenants, { partition: TENANTS, sort: enc.encode(tid), value: tenantRecord(after) });
        return after;
      });
    },

    async list(options) {
      const { after, limit } = checkPage(options);
      const afterId = after === undefined ? undefined : checkId(after, 'after', tenantId);
      return run(
        async (tx) => {
          const rows = await tx.list(T.tenants, TENANTS, {
            limit,
            ...(afterId === undefined ? {} : { after: enc.encode(afterId) }),
          });
          const items = rows.map((row) => {
            return tenantFrom(idFromKey(row.sort, T.tenants, tenantId), read(row.value, T.tenants));
          });
          const last = items[items.length - 1];
          return rows.length === limit && last !== undefined ? { items, next: last.id } : { items };
        },
        { readOnly: true },
      );
    },
  };
}

/**
 * Creates the domain store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const domains = createDomainStore(adapterExecutor(adapter));
 * const owner = await domains.tenantOf('acme.example');
 * ```
 */
export function createDomainStore(run: Executor): DomainStore {
  return {
    async add(tenant, domain) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const d = normalizeDomain(domain);
      return run(async (tx) => {
        if ((await loadTenant(tx, tid)) === undefined) throw new NotFoundError('tenant');
        const claimed = await tx.put(
          T.domains,
          { partition: key(d), sort: NO_SORT, value: write({ tenant: tid }) },
          { ifAbsent: true },
        );
        if (!claimed) {
          const owner = await getRec(tx, T.domains, key(d), NO_SORT);
          if (owner?.str('tenant') === tid) return false;
          throw new ConflictError('domain', 'the domain belongs to a tenant');
        }
        const count = await tx.count(T.tenantDomains, key(tid));
        if (count >= MAX_DOMAINS_PER_TENANT) {
          await tx.delete(T.domains, key(d), NO_SORT);
          throw new ConflictError('domain', 'too many domains for the tenant');
        }
        await tx.put(T.tenantDomains, { partition: key(tid), sort: key(d), value: write({}) });
        return true;
      });
    },

    async remove(tenant, domain) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const d = normalizeDomain(domain);
      return run(async (tx) => {
        const owner = await getRec(tx, T.domains, key(d), NO_SORT, true);
        if (owner === undefined || owner.str('tenant') !== tid) return false;
        await tx.delete(T.domains, key(d), NO_SORT);
        await tx.delete(T.tenantDomains, key(tid), key(d));
        return true;
      });
    },

    async tenantOf(domain) {
      const d = normalizeDomain(domain);
      return run(async (tx) => (await getRec(tx, T.domains, key(d), NO_SORT))?.id('tenant', tenantId), {
        readOnly: true,
      });
    },

    async list(tenant) {
      const tid = checkId(tenant, 'tenant', tenantId);
      return run(
        async (tx) => {
          const rows = await tx.list(T.tenantDomains, key(tid), { limit: MAX_DOMAINS_PER_TENANT });
          return rows.map((r) => idFromKey(r.sort, T.tenantDomains, normalizeDomain)).sort();
        },
        { readOnly: true },
      );
    },
  };
}
