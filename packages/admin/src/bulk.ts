/**
 * `admin.bulk`: filters over the tenant's users and devices (pages, or every match by async
 * iteration) and bulk operations as jobs (`spec/bulk.md`): dry runs, block, unblock, move to a
 * pool, invite again, wipe and delete; waiting for a job with a progress callback, its results
 * page by page, and resuming a job whose runner stopped.
 *
 * Two actions keep their secrets on this machine: a bulk invite makes an HPKE key pair here and
 * the server seals each new enrolment token to it (open them with {@link BulkApi.openInvites});
 * a bulk wipe signs one wipe command per device here with the administrator's certified key and
 * submits the signed commands.
 *
 * @module
 */
import { generateHpkeKeyPair, type KeyPair, openHpke, deviceId as toDeviceId, utf8 } from '@cloister/crypto';
import { signOrganisationObject, userId } from '@cloister/protocol';
import { fromBase64Url, toBase64Url } from './_base64url.js';
import { type AdminCaller, pathSegment, queryParams } from './caller.js';
import type { DeviceView, UserView } from './client.js';
import { enrolmentCode } from './enrolment-code.js';
import type { OrganisationSigner } from './signer.js';

/**
 * What a bulk job does to each item.
 *
 * @example
 * ```ts
 * const action: BulkAction = 'block';
 * ```
 */
export type BulkAction = 'block' | 'unblock' | 'move' | 'invite' | 'wipe' | 'delete';

/**
 * A filter over users: every criterion given must hold (`spec/bulk.md` §2).
 *
 * @example
 * ```ts
 * const filter: UserFilter = { status: 'active', domain: 'acme.example', lastSeenBefore: Date.now() - 90 * 86_400_000 };
 * const outOfDate: UserFilter = { status: 'active', compliant: false };
 * ```
 */
export interface UserFilter {
  /** `blocked`; else `never-enrolled` (no device) or `active`. */
  readonly status?: 'active' | 'blocked' | 'never-enrolled';
  /** Members of this pool. */
  readonly pool?: string;
  /** E-mail domain (the user's address, else the part of the user id after its last `@`). */
  readonly domain?: string;
  /** Case-insensitive substring of the display name, e-mail address or user id. */
  readonly text?: string;
  /** Users holding this role. */
  readonly role?: 'owner' | 'admin' | 'user-manager' | 'auditor' | 'integration';
  /** Last seen (over all devices) before this time, ms; never seen counts as before. */
  readonly lastSeenBefore?: number;
  /** A device seen at or after this time, ms. */
  readonly lastSeenAfter?: number;
  /** A device's reported client version starts with this (case-insensitive). */
  readonly clientVersion?: string;
  /** A device's reported app version starts with this (case-insensitive). */
  readonly appVersion?: string;
  /** A device's reported platform starts with this (case-insensitive). */
  readonly platform?: string;
  /**
   * Policy compliance of the latest report (reasons `missing`, `revision`, `stale`,
   * `not-enforced`, as `admin.restrictions.nonCompliant()` lists them): a user is non-compliant
   * when one of their active devices is; a device filter compares the device's own.
   */
  readonly compliant?: boolean;
}

/**
 * A filter over devices: the user criteria apply to the device's user, the others to the device.
 *
 * @example
 * ```ts
 * const filter: DeviceFilter = { status: 'active', platform: 'Android 13' };
 * ```
 */
export interface DeviceFilter extends Omit<UserFilter, 'status'> {
  /** `blocked` when the device or its user is blocked, else `active`. */
  readonly status?: 'active' | 'blocked';
}

/**
 * A page of a search: `next` continues after the last user the server read, so a page may be
 * short, even empty, while `next` is present.
 *
 * @example
 * ```ts
 * const page: FindPage<FoundUser> = await admin.bulk.findUsers({ status: 'blocked' });
 * ```
 */
export interface FindPage<T> {
  /** The matches of this page. */
  readonly items: readonly T[];
  /** The cursor of the next page (valid with the same filter only); absent at the end. */
  readonly next?: string;
  /** How many users the server read for this page. */
  readonly scanned: number;
}

/**
 * A user a filter matched.
 *
 * @example
 * ```ts
 * for await (const found of admin.bulk.users({ status: 'never-enrolled' })) console.log(found.user.id);
 * ```
 */
export interface FoundUser {
  /** The user. */
  readonly user: UserView;
  /** Its status. */
  readonly status: 'active' | 'blocked' | 'never-enrolled';
  /** How many devices it has. */
  readonly devices: number;
  /** The most recent time any of its devices was seen, or null. */
  readonly lastSeenAt: number | null;
}

/**
 * A device a filter matched.
 *
 * @example
 * ```ts
 * for await (const { user, device } of admin.bulk.devices({ platform: 'iOS 16' })) console.log(user, device.id);
 * ```
 */
export interface FoundDevice {
  /** The device's user. */
  readonly user: string;
  /** Whether that user is blocked. */
  readonly userBlocked: boolean;
  /** The device. */
  readonly device: DeviceView;
}

/**
 * The users a job acts on: the users a filter matches when the job is created, or a list of ids.
 *
 * @example
 * ```ts
 * const selection: BulkSelection = { filter: { pool: 'ward-3', status: 'active' } };
 * ```
 */
export type BulkSelection = { readonly filter: UserFilter } | { readonly users: readonly string[] };

/**
 * A bulk job.
 *
 * @example
 * ```ts
 * const job: BulkJob = await admin.bulk.get('job_AAAAAAAAAAAAAAAAAAAAAA');
 * console.log(`${job.done}/${job.total}`, job.state, job.failed);
 * ```
 */
export interface BulkJob {
  /** `job_…`. */
  readonly id: string;
  /** What it does. */
  readonly action: BulkAction;
  /** `running`, `interrupted` (resumable) or `done`. */
  readonly state: 'running' | 'interrupted' | 'done';
  /** Items in the job. */
  readonly total: number;
  /** Items done. */
  readonly done: number;
  /** Items changed. */
  readonly ok: number;
  /** Items left as they were (already so). */
  readonly skipped: number;
  /** Items that failed. */
  readonly failed: number;
  /** The pool of a move, else null. */
  readonly pool: string | null;
  /** The administrator who created it. */
  readonly createdBy: string;
  /** When it was created, ms. */
  readonly createdAt: number;
  /** When it last changed, ms. */
  readonly updatedAt: number;
  /** When it finished, ms, or null. */
  readonly finishedAt: number | null;
  /** From when it may be resumed if its runner stopped, ms; null when done. */
  readonly resumableAt: number | null;
  /** The error code of the last batch that could not be committed, or null. */
  readonly lastError: string | null;
  /** The idempotency key it was created with, or null. */
  readonly idempotencyKey: string | null;
}

/**
 * One item of a job and its outcome.
 *
 * @example
 * ```ts
 * for await (const item of admin.bulk.results('job_AAAAAAAAAAAAAAAAAAAAAA', { outcome: 'failed' })) console.log(item.user, item.reason);
 * ```
 */
export interface BulkJobItem {
  /** Its position in the job. */
  readonly index: number;
  /** The user. */
  readonly user: string;
  /** The device (wipe jobs), or null. */
  readonly device: number | null;
  /** `pending`, `ok`, `skipped` or `failed`. */
  readonly outcome: 'pending' | 'ok' | 'skipped' | 'failed';
  /** Why it was skipped or failed (`already-blocked`, `not-found`, `stale-sequence`, an error code …). */
  readonly reason: string | null;
  /** Invite: the sealed token (`enc`, `sealedToken`, `expiresAt`); wipe: the `commandId`. */
  readonly result: {
    readonly enc?: string;
    readonly sealedToken?: string;
    readonly expiresAt?: number;
    readonly commandId?: string;
  } | null;
}

/**
 * What a job would do, item by item; the server changed nothing.
 *
 * @example
 * ```ts
 * const plan: BulkDryRun = await admin.bulk.dryRun('block', { filter: { domain: 'old.example' } });
 * console.log(plan.change, plan.skipped, plan.failed);
 * ```
 */
export interface BulkDryRun {
  /** Always true. */
  readonly dryRun: true;
  /** The action. */
  readonly action: BulkAction;
  /** Items. */
  readonly total: number;
  /** Items that would change. */
  readonly change: number;
  /** Items that would be left as they are. */
  readonly skipped: number;
  /** Items that would fail. */
  readonly failed: number;
  /** Each item. */
  readonly items: readonly {
    readonly user: string;
    readonly device: number | null;
    readonly outcome: 'change' | 'skipped' | 'failed';
    readonly reason: string | null;
  }[];
}

/**
 * Options of starting a job.
 *
 * @example
 * ```ts
 * const options: BulkOptions = { idempotencyKey: 'offboarding-2026-12-07' };
 * ```
 */
export interface BulkOptions {
  /** The same key with the same input answers the same job (a retry after a lost answer). */
  readonly idempotencyKey?: string;
}

/**
 * Options of {@link BulkApi.wait}.
 *
 * @example
 * ```ts
 * const options: WaitOptions = { onProgress: (job) => console.log(job.done, job.total), intervalMs: 500 };
 * ```
 */
export interface WaitOptions {
  /** Called with the job each time it is read. */
  readonly onProgress?: (job: BulkJob) => void;
  /** Between reads, ms (default 500). */
  readonly intervalMs?: number;
  /** Stops waiting (rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/**
 * A bulk invite's job and the key pair its tokens are sealed to (the private key never leaves
 * this machine; keep it until the tokens are opened).
 *
 * @example
 * ```ts
 * const { job, resultKey }: InviteJob = await admin.bulk.invite({ filter: { status: 'never-enrolled' } });
 * ```
 */
export interface InviteJob {
  /** The job. */
  readonly job: BulkJob;
  /** The HPKE key pair the server sealed each token to. */
  readonly resultKey: KeyPair;
}

/**
 * One opened invite: the user's new enrolment token and code.
 *
 * @example
 * ```ts
 * const { job, resultKey } = await admin.bulk.invite({ users: ['alice'] });
 * await admin.bulk.wait(job.id);
 * for (const { user, enrolmentCode } of await admin.bulk.openInvites('acme', job.id, resultKey, null)) console.log(user, enrolmentCode);
 * ```
 */
export interface OpenedInvite {
  /** The user. */
  readonly user: string;
  /** The enrolment token (43 base64url characters): a secret. */
  readonly token: string;
  /** `<token>.<root fingerprint digest>` when the tenant has a root, else null. */
  readonly enrolmentCode: string | null;
  /** When the token expires, ms. */
  readonly expiresAt: number;
}

/**
 * The HPKE `info` the server seals bulk-invite tokens with (as the server's
 * `BULK_INVITE_TOKEN_LABEL`).
 *
 * @example
 * ```ts
 * const info = new TextEncoder().encode(BULK_INVITE_INFO);
 * ```
 */
export const BULK_INVITE_INFO = 'cloister/v1/admin/bulk-invite-token';

function inviteAad(tenant: string, job: string, user: string): Uint8Array {
  const parts = [tenant, job, user].map((s) => utf8(s));
  const out = new Uint8Array(parts.reduce((n, p) => n + 2 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out[at] = p.length >> 8;
    out[at + 1] = p.length & 0xff;
    out.set(p, at + 2);
    at += 2 + p.length;
  }
  return out;
}

const filterQuery = (filter: UserFilter | DeviceFilter, after?: string, limit?: number) =>
  queryParams({ ...filter, after, limit });

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

/**
 * The bulk area of {@link AdminClient} (`admin.bulk`).
 *
 * @example
 * ```ts
 * const plan = await admin.bulk.dryRun('block', { filter: { domain: 'contractor.example' } });
 * const job = await admin.bulk.block({ filter: { domain: 'contractor.example' } });
 * await admin.bulk.wait(job.id, { onProgress: (j) => console.log(`${j.done}/${j.total}`) });
 * ```
 */
export class BulkApi {
  readonly #caller: AdminCaller;

  /**
   * Built by `AdminClient` (`admin.bulk`).
   *
   * @example
   * ```ts
   * const bulk = admin.bulk;
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * One page of the users that meet `filter` (`users.read`).
   *
   * @example
   * ```ts
   * const { items, next } = await admin.bulk.findUsers({ status: 'blocked' }, { limit: 50 });
   * ```
   */
  findUsers(filter: UserFilter, page: { after?: string; limit?: number } = {}): Promise<FindPage<FoundUser>> {
    return this.#caller.call('GET', '/admin/v1/search/users', {
      query: filterQuery(filter, page.after, page.limit),
    });
  }

  /**
   * Every user that meets `filter`, page after page.
   *
   * @example
   * ```ts
   * for await (const { user, status } of admin.bulk.users({ pool: 'ward-3' })) console.log(user.id, status);
   * ```
   */
  async *users(filter: UserFilter, pageSize = 200): AsyncGenerator<FoundUser> {
    let after: string | undefined;
    do {
      const page = await this.findUsers(filter, {
        ...(after === undefined ? {} : { after }),
        limit: pageSize,
      });
      yield* page.items;
      after = page.next;
    } while (after !== undefined);
  }

  /**
   * One page of the devices that meet `filter` (`devices.read`).
   *
   * @example
   * ```ts
   * const { items } = await admin.bulk.findDevices({ clientVersion: '@cloister/client/0.1' });
   * ```
   */
  findDevices(
    filter: DeviceFilter,
    page: { after?: string; limit?: number } = {},
  ): Promise<FindPage<FoundDevice>> {
    return this.#caller.call('GET', '/admin/v1/search/devices', {
      query: filterQuery(filter, page.after, page.limit),
    });
  }

  /**
   * Every device that meets `filter`, page after page.
   *
   * @example
   * ```ts
   * for await (const { user, device } of admin.bulk.devices({ platform: 'Android 12' })) console.log(user, device.id);
   * ```
   */
  async *devices(filter: DeviceFilter, pageSize = 200): AsyncGenerator<FoundDevice> {
    let after: string | undefined;
    do {
      const page = await this.findDevices(filter, {
        ...(after === undefined ? {} : { after }),
        limit: pageSize,
      });
      yield* page.items;
      after = page.next;
    } while (after !== undefined);
  }

  /**
   * What `action` would do to `selection`, item by item; changes nothing (audited as one
   * `bulk.dry-run` record). `pool` for a move. A wipe's dry run is {@link BulkApi.wipe} with
   * `dryRun`.
   *
   * @example
   * ```ts
   * const plan = await admin.bulk.dryRun('move', { users: ['alice', 'bob'] }, { pool: 'ward-3' });
   * ```
   */
  dryRun(
    action: Exclude<BulkAction, 'wipe'>,
    selection: BulkSelection,
    extra: { readonly pool?: string } = {},
  ): Promise<BulkDryRun> {
    return this.#caller.call('POST', `/admin/v1/bulk/${action}`, {
      json: { ...selection, ...extra, dryRun: true },
    });
  }

  #start(action: BulkAction, json: Record<string, unknown>, options: BulkOptions): Promise<BulkJob> {
    return this.#caller.call('POST', `/admin/v1/bulk/${action}`, {
      json: {
        ...json,
        ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
      },
    });
  }

  /**
   * Starts a job that blocks the selected users (`users.block`).
   *
   * @example
   * ```ts
   * const job = await admin.bulk.block({ filter: { lastSeenBefore: Date.now() - 180 * 86_400_000 } });
   * ```
   */
  block(selection: BulkSelection, options: BulkOptions = {}): Promise<BulkJob> {
    return this.#start('block', { ...selection }, options);
  }

  /**
   * Starts a job that unblocks the selected users (`users.block`).
   *
   * @example
   * ```ts
   * const job = await admin.bulk.unblock({ users: ['alice', 'bob'] });
   * ```
   */
  unblock(selection: BulkSelection, options: BulkOptions = {}): Promise<BulkJob> {
    return this.#start('unblock', { ...selection }, options);
  }

  /**
   * Starts a job that moves the selected users to `pool`, their only pool afterwards (`pools.write`).
   *
   * @example
   * ```ts
   * const job = await admin.bulk.move({ filter: { domain: 'pharmacy.example' } }, 'pharmacy');
   * ```
   */
  move(selection: BulkSelection, pool: string, options: BulkOptions = {}): Promise<BulkJob> {
    return this.#start('move', { ...selection, pool }, options);
  }

  /**
   * Starts a job that deletes the selected users and everything the server holds for them
   * (`users.delete`, fresh second factor).
   *
   * @example
   * ```ts
   * const job = await admin.bulk.delete({ users: ['leaver-1', 'leaver-2'] });
   * ```
   */
  delete(selection: BulkSelection, options: BulkOptions = {}): Promise<BulkJob> {
    return this.#start('delete', { ...selection }, options);
  }

  /**
   * Starts a job that gives each selected user a new enrolment token (`users.invite`), sealed to a
   * key pair made here; open them with {@link BulkApi.openInvites} once the job is done.
   *
   * @example
   * ```ts
   * const { job, resultKey } = await admin.bulk.invite({ filter: { status: 'never-enrolled' } }, { uses: 1 });
   * ```
   */
  async invite(
    selection: BulkSelection,
    options: BulkOptions & { readonly uses?: number; readonly ttlMs?: number } = {},
  ): Promise<InviteJob> {
    const resultKey = await generateHpkeKeyPair(await this.#caller.provider());
    const { uses, ttlMs, ...rest } = options;
    const job = await this.#start(
      'invite',
      {
        ...selection,
        resultKey: toBase64Url(resultKey.publicKey),
        ...(uses === undefined ? {} : { uses }),
        ...(ttlMs === undefined ? {} : { ttlMs }),
      },
      rest,
    );
    return { job, resultKey };
  }

  /**
   * Opens the tokens of a done invite job with its result key, each with its enrolment code
   * (computed here from `rootFingerprint`, e.g. `(await admin.getOrganisation()).rootFingerprint`).
   *
   * @example
   * ```ts
   * const { job, resultKey } = await admin.bulk.invite({ users: ['alice', 'bob'] });
   * await admin.bulk.wait(job.id);
   * const { rootFingerprint } = await admin.getOrganisation();
   * const opened = await admin.bulk.openInvites('acme', job.id, resultKey, rootFingerprint);
   * ```
   */
  async openInvites(
    tenant: string,
    job: string,
    resultKey: KeyPair,
    rootFingerprint: string | null,
  ): Promise<OpenedInvite[]> {
    const provider = await this.#caller.provider();
    const out: OpenedInvite[] = [];
    for await (const item of this.results(job, { outcome: 'ok' })) {
      const r = item.result;
      if (r?.enc === undefined || r.sealedToken === undefined) continue;
      const bytes = await openHpke(provider, {
        aead: 'aes-256-gcm',
        recipientPrivateKey: resultKey.privateKey,
        info: utf8(BULK_INVITE_INFO),
        aad: inviteAad(tenant, job, item.user),
        enc: fromBase64Url(r.enc, 'enc'),
        ciphertext: fromBase64Url(r.sealedToken, 'sealedToken'),
      });
      const token = toBase64Url(bytes);
      out.push({
        user: item.user,
        token,
        enrolmentCode: rootFingerprint === null ? null : enrolmentCode(token, rootFingerprint),
        expiresAt: r.expiresAt ?? 0,
      });
    }
    return out;
  }

  /**
   * Signs one wipe command per device here (sequences following the tenant's newest wipe) and
   * starts a job that publishes them (`devices.wipe`, fresh second factor); with `dryRun`, answers
   * what it would do instead.
   *
   * @example
   * ```ts
   * const targets = [];
   * for await (const { user, device } of admin.bulk.devices({ platform: 'Android 9' })) targets.push({ user, device: device.id });
   * const job = await admin.bulk.wipe(signer, targets);
   * ```
   */
  async wipe(
    signer: OrganisationSigner,
    devices: readonly { readonly user: string; readonly device: number }[],
    options: BulkOptions & { readonly dryRun?: boolean } = {},
  ): Promise<BulkJob | BulkDryRun> {
    const state = await signer.client.getOrganisation();
    const first = state.sequences.wipe;
    const now = signer.now ?? Date.now;
    const commands: string[] = [];
    for (const [i, d] of devices.entries()) {
      const object = await signOrganisationObject(
        signer.provider,
        signer.key.privateKey,
        signer.key.certificate,
        {
          kind: 'wipe',
          payload: {
            user: userId(d.user),
            deviceId: toDeviceId(d.device, 'device'),
            commandId: signer.provider.randomBytes(16),
          },
          tenant: signer.key.tenant,
          issuedAtMs: now(),
          sequence: first + i,
        } as Parameters<typeof signOrganisationObject>[3],
      );
      commands.push(toBase64Url(object));
    }
    const { dryRun, ...rest } = options;
    return this.#start('wipe', { commands, ...(dryRun === true ? { dryRun: true } : {}) }, rest);
  }

  /**
   * A job's progress (`users.read`).
   *
   * @example
   * ```ts
   * const job = await admin.bulk.get('job_AAAAAAAAAAAAAAAAAAAAAA');
   * ```
   */
  get(job: string): Promise<BulkJob> {
    return this.#caller.call('GET', `/admin/v1/jobs/${pathSegment(job)}`);
  }

  /**
   * The tenant's jobs, one page (`users.read`).
   *
   * @example
   * ```ts
   * const { items } = await admin.bulk.list({ limit: 20 });
   * ```
   */
  list(page: { after?: string; limit?: number } = {}): Promise<{ items: BulkJob[]; next?: string }> {
    return this.#caller.call('GET', '/admin/v1/jobs', { query: queryParams(page) });
  }

  /**
   * Reads the job until it is no longer running, calling `onProgress` each time; answers the
   * last read (`done`, or `interrupted`: then {@link BulkApi.resume}).
   *
   * @example
   * ```ts
   * const job = await admin.bulk.block({ users: ['alice', 'bob'] });
   * const done = await admin.bulk.wait(job.id, { onProgress: (j) => console.log(`${j.done}/${j.total}`) });
   * ```
   */
  async wait(job: string, options: WaitOptions = {}): Promise<BulkJob> {
    for (;;) {
      const j = await this.get(job);
      options.onProgress?.(j);
      if (j.state !== 'running') return j;
      await sleep(options.intervalMs ?? 500, options.signal);
    }
  }

  /**
   * Every item of a job in order, optionally only those with `outcome` (`users.read`).
   *
   * @example
   * ```ts
   * for await (const item of admin.bulk.results('job_AAAAAAAAAAAAAAAAAAAAAA', { outcome: 'failed' })) console.log(item.user, item.reason);
   * ```
   */
  async *results(
    job: string,
    options: { readonly outcome?: BulkJobItem['outcome']; readonly pageSize?: number } = {},
  ): AsyncGenerator<BulkJobItem> {
    let after: string | undefined;
    do {
      const page = await this.#caller.call<{ items: BulkJobItem[]; next?: string }>(
        'GET',
        `/admin/v1/jobs/${pathSegment(job)}/results`,
        { query: queryParams({ after, limit: options.pageSize ?? 500, outcome: options.outcome }) },
      );
      yield* page.items;
      after = page.next;
    } while (after !== undefined);
  }

  /**
   * Resumes an `interrupted` job, or a `running` one whose runner stopped (after `resumableAt`),
   * from its last committed batch (the action's permission).
   *
   * @example
   * ```ts
   * const job = await admin.bulk.get('job_AAAAAAAAAAAAAAAAAAAAAA');
   * if (job.state === 'interrupted') await admin.bulk.resume(job);
   * ```
   */
  resume(job: Pick<BulkJob, 'id' | 'action'>): Promise<BulkJob> {
    return this.#caller.call('POST', `/admin/v1/bulk/${job.action}/jobs/${pathSegment(job.id)}/resume`);
  }
}
