/**
 * `admin.restrictions`: the organisation's restrictions per tenant, pool and user layer (R27,
 * `spec/restrictions.md`), typed. It reads the signed policy layers the server keeps and decodes
 * their documents into typed settings; `set` changes some restrictions of one layer (the layer's
 * other features are kept), validates the document (a malformed value is a `ValidationError`,
 * `archive` outside the tenant layer a `ForbiddenError`, before anything is signed) and signs and
 * publishes it with the administrator's key (`signPolicyLayer`). `nonCompliant` lists the devices
 * whose compliance report is missing, old, or does not cover a restriction in force
 * (`devices.read`). A group layer restricts one conversation group of the client SDK, named by
 * its group id (`spec/restrictions.md` §1.2): every device of the tenant receives it, and the
 * devices in that group apply it in the group's conversation only.
 *
 * @module
 */
import { fromHex, ValidationError } from '@cloister/crypto';
import {
  decodeOrganisationObject,
  groupLayerTarget,
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
 * A layer restrictions are set on: the tenant, a pool, a user, or a conversation group by its
 * group id. A group id is 1..64 bytes, given as bytes, as canonical base64url, or as the group's
 * conversation id `g:<hex>`. The client SDK gives a group's id as hex (`createGroup`'s `groupId`,
 * and the `g:<hex>` conversation id a member's app shows): pass `g:` and that hex, or its bytes,
 * never the bare hex (it would read as base64url of other bytes).
 *
 * @example
 * ```ts
 * const target: RestrictionTarget = { layer: 'pool', target: 'ward-3' };
 * const ward: RestrictionTarget = { layer: 'group', groupId: 'g:3f9a…' }; // the group's conversation id
 * ```
 */
export type RestrictionTarget =
  | { readonly layer: 'tenant' }
  | { readonly layer: 'pool' | 'user'; readonly target: string }
  | { readonly layer: 'group'; readonly groupId: string | Uint8Array };

/**
 * The target string of a group layer (the base64url of the group id, `spec/restrictions.md` §1.2)
 * for a group id given as bytes, canonical base64url or a conversation id `g:<hex>`.
 * `ValidationError` for anything else, or a length outside 1..64 bytes.
 *
 * @example
 * ```ts
 * groupTarget('g:0102'); // 'AQI'
 * groupTarget(Uint8Array.of(1, 2)); // 'AQI'
 * ```
 */
export function groupTarget(groupId: string | Uint8Array): string {
  let bytes: Uint8Array;
  if (groupId instanceof Uint8Array) bytes = groupId;
  else if (typeof groupId === 'string' && groupId.startsWith('g:')) {
    if (!/^g:(?:[0-9a-f]{2})+$/.test(groupId)) {
      throw new ValidationError('groupId', 'a conversation id g:<hex> (lower-case hex digits)');
    }
    bytes = fromHex(groupId.slice(2), 'groupId');
  } else if (typeof groupId === 'string') bytes = fromBase64Url(groupId, 'groupId');
  else throw new ValidationError('groupId', 'bytes, base64url or g:<hex>');
  return groupLayerTarget(bytes);
}

/** The target the signed layer names: `null` for the tenant, the group id's base64url for a group. */
function targetOf(t: RestrictionTarget): string | null {
  if (typeof t !== 'object' || t === null) throw new ValidationError('target', 'a restriction target');
  switch (t.layer) {
    case 'tenant':
      return null;
    case 'group':
      return groupTarget(t.groupId);
    case 'pool':
    case 'user':
      return t.target;
    default:
      throw new ValidationError('target.layer', 'tenant, pool, group or user');
  }
}

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
  l.layer === t.layer && l.target === targetOf(t);

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
   * The stored layer of `target`, or undefined when none was published. A group's layer names the
   * group by the base64url of its id (`target`). `ValidationError` for a malformed group id.
   *
   * @example
   * ```ts
   * const ward = await admin.restrictions.get({ layer: 'pool', target: 'ward-3' });
   * console.log(ward?.settings['files.download']);
   * const chat = await admin.restrictions.get({ layer: 'group', groupId: 'g:3f9a…' });
   * ```
   */
  async get(target: RestrictionTarget): Promise<RestrictionLayer | undefined> {
    targetOf(target);
    return (await this.layers()).find((l) => sameTarget(l, target));
  }

  /**
   * Changes restrictions of one layer and publishes the layer signed: the stored document with
   * `change` applied (other features kept). Validated before signing: a malformed value is a
   * `ValidationError` and nothing is sent (a malformed group id too). Needs `policy.write` and
   * the signer's certificate role (owner or admin). A group layer for a group that has none yet
   * is refused by the server once the tenant has `MAX_GROUP_LAYERS` (409 `conflict: group-layers`).
   *
   * @example
   * ```ts
   * await admin.restrictions.set(signer, { layer: 'user', target: 'alice' }, {
   *   'messages.forward': { value: false },
   *   'disappearing.timer': { value: { minMs: 60_000, maxMs: 7 * 86_400_000 }, locked: true },
   * });
   * await admin.restrictions.set(signer, { layer: 'group', groupId: 'g:3f9a…' }, {
   *   'files.send': { value: false, locked: true },
   * });
   * ```
   */
  async set(
    signer: OrganisationSigner,
    target: RestrictionTarget,
    change: RestrictionChange,
  ): Promise<Published> {
    const named = targetOf(target);
    const current = await this.get(target);
    const document = restrictionsToLayer(
      target.layer,
      change,
      (current?.document ?? {}) as Parameters<typeof restrictionsToLayer>[2],
    );
    return signPolicyLayer(
      signer,
      target.layer === 'tenant' ? target : { layer: target.layer, target: named as string },
      document,
    );
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
