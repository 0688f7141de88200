/**
 * `admin.archive`: the compliance archive's admin API as an auditor (or, for legal holds, an
 * owner) uses it (`spec/audit-tool.md` §2): the archive key sets (registered once, at the key
 * ceremony; the server keeps each auditor's wrapped share but cannot open any), the sealed items
 * page by page or as one streamed export, and legal holds. Reading items and shares needs the
 * `archive.audit` permission (auditors only, with a fresh second factor); holds need
 * `archive.hold`.
 *
 * @module
 */
import { fromBase64Url, toBase64Url } from '../_base64url.js';
import { type AdminCaller, pathSegment, queryParams } from '../caller.js';
import { ndjsonValues } from './ndjson.js';

/**
 * One sealed archive item as the server stores it (the SDK decodes the base64url of the wire).
 *
 * @example
 * ```ts
 * const { items } = await admin.archive.items({ from, to });
 * const first: ArchiveItem | undefined = items[0];
 * ```
 */
export interface ArchiveItem {
  /** The item's id (hex). */
  readonly id: string;
  /** Its per-tenant filing sequence number (1, 2, 3, …); null for items filed before numbering. */
  readonly seq: number | null;
  /** When the server filed it (ms). */
  readonly receivedAt: number;
  /** The delivery the server filed it with (16 bytes), or null. */
  readonly deliveryId: Uint8Array | null;
  /** Size of the seal in bytes. */
  readonly size: number;
  /** The seal; empty when the server sent bytes that are not base64url (the item is then undecryptable). */
  readonly sealed: Uint8Array;
  /** When the server shreds it (ms), or null. */
  readonly expiresAt: number | null;
}

/** An item as the wire carries it. */
interface WireItem {
  readonly id: string;
  readonly seq: number | null;
  readonly receivedAt: number;
  readonly deliveryId: string | null;
  readonly size: number;
  readonly sealed: string;
  readonly expiresAt: number | null;
}

function bytesOr(value: unknown, fallback: Uint8Array | null): Uint8Array | null {
  try {
    return fromBase64Url(value as string, 'bytes');
  } catch {
    return fallback;
  }
}

function itemOf(w: WireItem): ArchiveItem {
  return {
    id: w.id,
    seq: w.seq,
    receivedAt: w.receivedAt,
    deliveryId: w.deliveryId === null ? null : bytesOr(w.deliveryId, new Uint8Array(0)),
    size: w.size,
    sealed: bytesOr(w.sealed, new Uint8Array(0)) as Uint8Array,
    expiresAt: w.expiresAt,
  };
}

/**
 * A page of {@link ArchiveItem}s.
 *
 * @example
 * ```ts
 * const page: ArchiveItemsPage = await admin.archive.items({ from, to, limit: 500 });
 * if (page.next !== undefined) console.log('more after', page.next);
 * ```
 */
export interface ArchiveItemsPage {
  /** Items ordered by (receivedAt, id). */
  readonly items: readonly ArchiveItem[];
  /** The id to pass as `after` for the next page; absent on the last page. */
  readonly next?: string;
  /** The filing sequence numbers the range spans. */
  readonly range: { readonly firstSeq: number | null; readonly lastSeq: number | null };
}

/**
 * What {@link ArchiveApi.items} and {@link ArchiveApi.export} select.
 *
 * @example
 * ```ts
 * const query: ArchiveItemsQuery = { from: Date.parse('2026-11-01'), to: Date.now(), purpose: 'case 2026-114' };
 * ```
 */
export interface ArchiveItemsQuery {
  /** Earliest filing time (ms, inclusive). */
  readonly from?: number;
  /** End of the filing times (ms, exclusive). */
  readonly to?: number;
  /** Why the archive is read (1..200 characters): recorded in the audit log. */
  readonly purpose?: string;
}

/**
 * One share holder of a new key set: who holds it and the share wrapped to that auditor.
 *
 * @example
 * ```ts
 * const holder: ArchiveKeySetHolderInput = { holder: 'auditor-1', share: mine };
 * ```
 */
export interface ArchiveKeySetHolderInput {
  /** The holder's name (1..255 characters). */
  readonly holder: string;
  /** The wrapped share (at most 4096 bytes). */
  readonly share: Uint8Array;
}

/**
 * What {@link ArchiveApi.createKeySet} registers.
 *
 * @example
 * ```ts
 * const input: CreateArchiveKeySetInput = { setId, publicKey, threshold: 2, holders, label: '2027' };
 * ```
 */
export interface CreateArchiveKeySetInput {
  /** The share set id every share carries (16 hex characters). */
  readonly setId: string;
  /** The archive X25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** How many shares open the key (2..16). */
  readonly threshold: number;
  /** The holders and their wrapped shares (2..16, distinct names). */
  readonly holders: readonly ArchiveKeySetHolderInput[];
  /** A label (1..128 characters). */
  readonly label?: string;
}

/**
 * The server's answer to {@link ArchiveApi.createKeySet}.
 *
 * @example
 * ```ts
 * const { fingerprint }: CreatedArchiveKeySet = await admin.archive.createKeySet(input);
 * ```
 */
export interface CreatedArchiveKeySet {
  /** The key set id (the share set id). */
  readonly id: string;
  /** `cloister-archive:v1:…`, to compare with what users are shown. */
  readonly fingerprint: string;
  /** When it was registered (ms). */
  readonly createdAt: number;
  /** The administrator who registered it. */
  readonly createdBy: string;
}

/**
 * A registered key set; `shares` only for a caller with `archive.audit`.
 *
 * @example
 * ```ts
 * const [current]: ArchiveKeySetView[] = await admin.archive.keySets();
 * ```
 */
export interface ArchiveKeySetView {
  /** The key set id. */
  readonly id: string;
  /** The archive public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** `cloister-archive:v1:…`. */
  readonly fingerprint: string;
  /** How many shares open the key. */
  readonly threshold: number;
  /** The holders' names. */
  readonly holders: readonly string[];
  /** A label. */
  readonly label?: string;
  /** When it was registered (ms). */
  readonly createdAt: number;
  /** The administrator who registered it. */
  readonly createdBy: string;
  /** Each holder's wrapped share, for auditors. */
  readonly shares?: readonly { readonly holder: string; readonly share: Uint8Array }[];
}

/**
 * A legal hold: while a user is on one, the user cannot be deleted and the archive is not shredded.
 *
 * @example
 * ```ts
 * const hold: LegalHold = await admin.archive.holds.create({ users: ['u-7f3a'], reason: 'case 2026-114' });
 * ```
 */
export interface LegalHold {
  /** The hold's id. */
  readonly id: string;
  /** The users it holds. */
  readonly users: readonly string[];
  /** Why (1..500 characters). */
  readonly reason: string;
  /** When it was set (ms). */
  readonly createdAt: number;
  /** The administrator who set it. */
  readonly createdBy: string;
}

/**
 * The legal-hold routes (`archive.hold`: owners and auditors, fresh second factor).
 *
 * @example
 * ```ts
 * const holds: LegalHoldsApi = admin.archive.holds;
 * ```
 */
export class LegalHoldsApi {
  readonly #caller: AdminCaller;

  /**
   * Built by {@link ArchiveApi} (`admin.archive.holds`).
   *
   * @example
   * ```ts
   * const holds = admin.archive.holds;
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * Puts users on a legal hold.
   *
   * @example
   * ```ts
   * const { id } = await admin.archive.holds.create({ users: ['u-7f3a', 'u-91c2'], reason: 'case 2026-114' });
   * ```
   */
  create(input: { readonly users: readonly string[]; readonly reason: string }): Promise<LegalHold> {
    return this.#caller.call('POST', '/admin/v1/legal-holds', { json: input });
  }

  /**
   * The tenant's legal holds.
   *
   * @example
   * ```ts
   * for (const h of await admin.archive.holds.list()) console.log(h.id, h.users.length, h.reason);
   * ```
   */
  async list(): Promise<LegalHold[]> {
    return (await this.#caller.call<{ items: LegalHold[] }>('GET', '/admin/v1/legal-holds')).items;
  }

  /**
   * Lifts a legal hold.
   *
   * @example
   * ```ts
   * await admin.archive.holds.lift(hold.id);
   * ```
   */
  async lift(id: string): Promise<void> {
    await this.#caller.call('DELETE', `/admin/v1/legal-holds/${pathSegment(id)}`);
  }
}

/**
 * The archive routes of the admin API.
 *
 * @example
 * ```ts
 * for await (const item of admin.archive.export({ from, to, purpose: 'case 2026-114' })) count++;
 * ```
 */
export class ArchiveApi {
  readonly #caller: AdminCaller;

  /**
   * Built by `AdminClient` (`admin.archive`).
   *
   * @example
   * ```ts
   * const archive = admin.archive;
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * Legal holds: `.create()`, `.list()`, `.lift()`.
   *
   * @example
   * ```ts
   * await admin.archive.holds.create({ users: ['u-7f3a'], reason: 'case 2026-114' });
   * ```
   */
  get holds(): LegalHoldsApi {
    return new LegalHoldsApi(this.#caller);
  }

  /**
   * Registers an archive key set (its public key and each holder's wrapped share); the server
   * checks lengths and uniqueness only. See `createArchiveKeySet` for the whole ceremony.
   *
   * @example
   * ```ts
   * const { fingerprint } = await admin.archive.createKeySet({ setId, publicKey, threshold: 2, holders });
   * ```
   */
  createKeySet(input: CreateArchiveKeySetInput): Promise<CreatedArchiveKeySet> {
    return this.#caller.call('POST', '/admin/v1/archive/key-sets', {
      json: {
        setId: input.setId,
        publicKey: toBase64Url(input.publicKey),
        threshold: input.threshold,
        holders: input.holders.map((h) => ({ holder: h.holder, share: toBase64Url(h.share) })),
        ...(input.label === undefined ? {} : { label: input.label }),
      },
    });
  }

  /**
   * The registered key sets (with the wrapped shares for auditors).
   *
   * @example
   * ```ts
   * const sets = await admin.archive.keySets();
   * ```
   */
  async keySets(): Promise<ArchiveKeySetView[]> {
    type Wire = Omit<ArchiveKeySetView, 'publicKey' | 'shares'> & {
      publicKey: string;
      shares?: { holder: string; share: string }[];
    };
    const answer = await this.#caller.call<{ items: Wire[] }>('GET', '/admin/v1/archive/key-sets');
    return answer.items.map(({ publicKey, shares, ...rest }) => ({
      ...rest,
      publicKey: fromBase64Url(publicKey, 'publicKey'),
      ...(shares === undefined
        ? {}
        : { shares: shares.map((s) => ({ holder: s.holder, share: fromBase64Url(s.share, 'share') })) }),
    }));
  }

  /**
   * One page of sealed items, ordered by (receivedAt, id).
   *
   * @example
   * ```ts
   * const page = await admin.archive.items({ from, to, limit: 1000, purpose: 'case 2026-114' });
   * ```
   */
  async items(
    query: ArchiveItemsQuery & { readonly after?: string; readonly limit?: number } = {},
  ): Promise<ArchiveItemsPage> {
    const page = await this.#caller.call<Omit<ArchiveItemsPage, 'items'> & { items: WireItem[] }>(
      'GET',
      '/admin/v1/archive/items',
      { query: queryParams({ ...query }) },
    );
    return { ...page, items: page.items.map(itemOf) };
  }

  /**
   * Every sealed item of a range, streamed from `GET /admin/v1/archive/export` (JSON lines, one
   * audit record for the whole export), ordered by (receivedAt, id); memory stays bounded.
   *
   * @example
   * ```ts
   * for await (const item of admin.archive.export({ from, to, purpose: 'case 2026-114' })) console.log(item.id);
   * ```
   */
  async *export(query: ArchiveItemsQuery = {}): AsyncGenerator<ArchiveItem> {
    const response = await this.#caller.send('GET', '/admin/v1/archive/export', {
      query: queryParams({ ...query }),
    });
    for await (const w of ndjsonValues<WireItem>(response.body)) yield itemOf(w);
  }
}
