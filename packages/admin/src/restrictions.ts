/**
 * `admin.restrictions`: the organisation's restrictions per tenant, pool and user layer (R27,
 * `spec/restrictions.md`), typed. It reads the signed policy layers the server keeps and decodes
 * their documents into typed settings; `set` changes some restrictions of one layer (the layer's
 * other features are kept), validates the document (a malformed value is a `ValidationError`,
 * `archive` outside the tenant layer a `ForbiddenError`, before anything is signed) and signs and
 * publishes it with the administrator's key (`signPolicyLayer`). `nonCompliant` lists the devices
 * whose compliance report is missing, old, or does not cover a restriction in force
 * (`devices.read`). Group layers are not offered: the directory has no groups of users yet, and
 * clients do not apply group layers.
 *
 * @module
 */
import {
  decodeOrganisationObject,
  type LayerDocument,
  layerRestrictions,
  type RestrictionName,
  type RestrictionProblem,
  type RestrictionSetting,
  type RestrictionSettings,
  type RestrictionValues,
  restrictionsToLayer,
} from '@cloister/protocol';
import { fromBase64Url } from './_base64url.js';
import { type AdminCaller, queryParams } from './caller.js';
import { type OrganisationSigner, type Published, signPolicyLayer } from './signer.js';

/**
 * A layer restrictions are set on: the tenant, a pool or a user.
 *
 * @example
 * ```ts
 * const target: RestrictionTarget = { layer: 'pool', target: 'ward-3' };
 * ```
 */
export type RestrictionTarget =
  | { readonly layer: 'tenant' }
  | { readonly layer: 'pool' | 'user'; readonly target: string };

/**
 * One stored layer with its typed restrictions.
 *
 * @example
 * ```ts
 * const layers: RestrictionLayer[] = await admin.restrictions.layers();
 * for (const l of layers) console.log(l.layer, l.target, l.settings);
 * ```
 */
export interface RestrictionLayer {
  /** Which layer. */
  readonly layer: 'tenant' | 'pool' | 'group' | 'user';
  /** The pool, group or user id; `null` for the tenant layer. */
  readonly target: string | null;
  /** The signed object's sequence. */
  readonly sequence: number;
  /** When the administrator signed it (ms). */
  readonly issuedAtMs: number;
  /** The administrator whose key signed it. */
  readonly admin: string;
  /** The well-known restrictions it sets, typed. */
  readonly settings: RestrictionSettings;
  /** Its whole document (other features included). */
  readonly document: LayerDocument;
  /** Entries of the document that do not match their restriction's format (clients ignore them). */
  readonly problems: readonly RestrictionProblem[];
}

/**
 * What `set` changes: a setting per restriction, or `null` to remove it from the layer.
 *
 * @example
 * ```ts
 * const change: RestrictionChange = { 'clipboard.copy': { value: false, locked: true }, screenshots: null };
 * ```
 */
export type RestrictionChange = {
  readonly [N in Exclude<RestrictionName, 'archive'>]?: RestrictionSetting<RestrictionValues[N]> | null;
};

/**
 * A non-compliant device as `GET /admin/v1/compliance` lists it.
 *
 * @example
 * ```ts
 * const { items } = await admin.restrictions.nonCompliant();
 * for (const d of items) console.log(d.user, d.device, d.reasons.join(','), d.notEnforced.join(','));
 * ```
 */
export interface NonCompliantDevice {
  /** The user. */
  readonly user: string;
  /** The device id. */
  readonly device: number;
  /** `missing`, `revision` (an older policy), `stale` (no recent report), `not-enforced`. */
  readonly reasons: readonly ('missing' | 'revision' | 'stale' | 'not-enforced')[];
  /** Restrictions in force the report covers neither as SDK- nor as app-enforced. */
  readonly notEnforced: readonly string[];
  /** The policy revision the device reported, or null. */
  readonly revision: string | null;
  /** The user's current policy revision. */
  readonly currentRevision: string;
  /** When the latest report arrived (ms), or null. */
  readonly reportedAt: number | null;
  /** The SDK the device reported, or null. */
  readonly sdk: string | null;
  /** What the SDK reported it enforces. */
  readonly enforced: readonly string[];
  /** What the app declared it enforces. */
  readonly appEnforced: readonly string[];
  /** The app version the device reported, or null. */
  readonly appVersion: string | null;
  /** The platform the device reported, or null. */
  readonly platform: string | null;
}

/**
 * The query of `nonCompliant`: a page covers `limit` users (1..200, default 50); `maxAgeMs` is how
 * old a report may be (default 24 h).
 *
 * @example
 * ```ts
 * const query: NonCompliantQuery = { limit: 100, maxAgeMs: 7 * 86_400_000 };
 * ```
 */
export interface NonCompliantQuery {
  /** Where the page starts (the previous page's `next`). */
  readonly after?: string;
  /** Users covered by the page, 1..200. */
  readonly limit?: number;
  /** Oldest acceptable report, ms. */
  readonly maxAgeMs?: number;
}

interface StoredLayerView {
  readonly layer: 'tenant' | 'pool' | 'group' | 'user';
  readonly target: string | null;
  readonly sequence: number;
  readonly issuedAtMs: number;
  readonly admin: string;
  readonly object: string;
}

const sameTarget = (l: RestrictionLayer, t: RestrictionTarget) =>
  l.layer === t.layer && l.target === (t.layer === 'tenant' ? null : t.target);

/**
 * The restrictions area of {@link AdminClient} (`admin.restrictions`).
 *
 * @example
 * ```ts
 * await admin.restrictions.set(signer, { layer: 'pool', target: 'ward-3' }, {
 *   'media.send': { value: ['image/*', 'application/pdf'] },
 *   'files.download': { value: false, locked: true },
 * });
 * ```
 */
export class RestrictionsApi {
  readonly #caller: AdminCaller;

  /**
   * Built by `AdminClient` (`admin.restrictions`).
   *
   * @example
   * ```ts
   * const restrictions = admin.restrictions;
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * Every stored policy layer of the tenant with its typed restrictions (all pages).
   *
   * @example
   * ```ts
   * const tenantLayer = (await admin.restrictions.layers()).find((l) => l.layer === 'tenant');
   * ```
   */
  async layers(): Promise<RestrictionLayer[]> {
    const out: RestrictionLayer[] = [];
    let after: string | undefined;
    do {
      const page = await this.#caller.call<{ layers: StoredLayerView[]; next?: string }>(
        'GET',
        '/admin/v1/organisation/policy-layers',
        { query: queryParams({ after, limit: 1000 }) },
      );
      for (const l of page.layers) {
        const bytes = fromBase64Url(l.object, 'object');
        const o = decodeOrganisationObject(bytes);
        if (o.kind !== 'policy-layer') continue;
        const document = o.payload.document as LayerDocument;
        const typed = layerRestrictions(document, o.payload.layer);
        out.push({
          layer: o.payload.layer,
          target: o.payload.target,
          sequence: l.sequence,
          issuedAtMs: l.issuedAtMs,
          admin: l.admin,
          settings: typed.settings,
          document,
          problems: typed.problems,
        });
      }
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  /**
   * The stored layer of `target`, or undefined when none was published.
   *
   * @example
   * ```ts
   * const ward = await admin.restrictions.get({ layer: 'pool', target: 'ward-3' });
   * console.log(ward?.settings['files.download']);
   * ```
   */
  async get(target: RestrictionTarget): Promise<RestrictionLayer | undefined> {
    return (await this.layers()).find((l) => sameTarget(l, target));
  }

  /**
   * Changes restrictions of one layer and publishes the layer signed: the stored document with
   * `change` applied (other features kept). Validated before signing: a malformed value is a
   * `ValidationError` and nothing is sent. Needs `policy.write` and the signer's certificate
   * role (owner or admin).
   *
   * @example
   * ```ts
   * await admin.restrictions.set(signer, { layer: 'user', target: 'alice' }, {
   *   'messages.forward': { value: false },
   *   'disappearing.timer': { value: { minMs: 60_000, maxMs: 7 * 86_400_000 }, locked: true },
   * });
   * ```
   */
  async set(
    signer: OrganisationSigner,
    target: RestrictionTarget,
    change: RestrictionChange,
  ): Promise<Published> {
    const current = await this.get(target);
    const document = restrictionsToLayer(
      target.layer,
      change,
      (current?.document ?? {}) as Parameters<typeof restrictionsToLayer>[2],
    );
    return signPolicyLayer(signer, target, document);
  }

  /**
   * One page of the tenant's non-compliant devices (`devices.read`).
   *
   * @example
   * ```ts
   * let page = await admin.restrictions.nonCompliant({ limit: 100 });
   * while (page.next !== undefined) page = await admin.restrictions.nonCompliant({ after: page.next });
   * ```
   */
  nonCompliant(query: NonCompliantQuery = {}): Promise<{ items: NonCompliantDevice[]; next?: string }> {
    return this.#caller.call('GET', '/admin/v1/compliance', {
      query: queryParams({ after: query.after, limit: query.limit, maxAgeMs: query.maxAgeMs }),
    });
  }
}
