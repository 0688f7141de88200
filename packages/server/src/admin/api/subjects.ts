/**
 * Data-subject requests (R38): `GET /admin/v1/users/:user/export` answers everything the server
 * holds about a person as one JSON document of a versioned schema
 * ({@link SUBJECT_EXPORT_SCHEMA}, `spec/data-subject.md`), read in one transaction with its audit
 * record `subject.export`. Erasure is `DELETE /admin/v1/users/:user` (`users.ts`), which deletes
 * the person's rows and, with them, the key their personal rows are sealed under
 * (`store/subjects.ts`): copies of those rows in earlier backups cannot be opened any more.
 *
 * @module
 */
import { userId } from '@cloister/protocol';
import { z } from 'zod';
import { key } from '../../store/_util.js';
import { NotFoundError } from '../../store/index.js';
import { hasSubjectKey } from '../../store/subjects.js';
import { wipeStatus } from '../../wipe.js';
import { defineAdminOperation } from './operation.js';
import { userParams } from './schemas.js';
import { adminTransaction } from './transaction.js';
import { INVITES_TABLE } from './users.js';
import { auditViewOf } from './views.js';

/**
 * The schema name and version of the export document (its `schema` member).
 *
 * @example
 * ```ts
 * if (doc.schema !== SUBJECT_EXPORT_SCHEMA) throw new Error('unknown export schema');
 * ```
 */
export const SUBJECT_EXPORT_SCHEMA = 'cloister/subject-export/v1';

/**
 * Most audit records an export reads in search of those that name the person (the newest are
 * read first); `audit.truncated` says when older ones were left unread.
 *
 * @example
 * ```ts
 * console.log(SUBJECT_AUDIT_SCAN_LIMIT); // 100000
 * ```
 */
export const SUBJECT_AUDIT_SCAN_LIMIT = 100_000;

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const figure = z.object({ bytes: z.number().int(), count: z.number().int() }).strict();

/**
 * The export document (`spec/data-subject.md` §2).
 *
 * @example
 * ```ts
 * const doc: z.infer<typeof subjectExportSchema> = await res.json();
 * ```
 */
export const subjectExportSchema = z
  .object({
    schema: z.literal(SUBJECT_EXPORT_SCHEMA),
    generatedAt: z.number().int(),
    tenant: z.string(),
    user: z
      .object({
        id: z.string(),
        displayName: z.string(),
        email: z.string().nullable(),
        pools: z.array(z.object({ id: z.string(), name: z.string().nullable() }).strict()),
        roles: z.array(z.string()),
        blocked: z.boolean(),
        createdAt: z.number().int(),
        personalDataSealed: z.boolean().describe("Whether the person's rows are sealed under their own key."),
      })
      .strict(),
    devices: z.array(
      z
        .object({
          id: z.number().int(),
          createdAt: z.number().int(),
          lastSeenAt: z.number().int().nullable(),
          clientVersion: z.string().nullable(),
          appVersion: z.string().nullable(),
          platform: z.string().nullable(),
          blocked: z.boolean(),
          wipe: z
            .object({
              state: z.enum(['pending', 'confirmed']),
              issuedAt: z.number().int(),
              confirmedAt: z.number().int().nullable(),
            })
            .strict()
            .nullable(),
          registrationId: z.number().int(),
          publicKeys: z
            .object({
              signingKey: z.string(),
              dhKey: z.string(),
              fingerprint: z.string().describe('`sha256:` and the hex SHA-256 of the signing key.'),
              oneTimePreKeys: z.number().int(),
              kemPreKeys: z.number().int(),
            })
            .strict(),
          mailbox: z
            .object({ envelopes: z.number().int(), bytes: z.number().int() })
            .strict()
            .describe(
              'Envelopes waiting, and their stored bytes: end-to-end encrypted, not readable by the server.',
            ),
          blobs: figure.describe("The device's blob uploads as the usage ledger counts them (bytes, count)."),
        })
        .strict(),
    ),
    deviceLists: z.array(
      z
        .object({
          epoch: z.number().int(),
          storedAt: z.number().int(),
          bytes: z.number().int(),
          sha256: z.string(),
        })
        .strict(),
    ),
    invites: z.array(z.object({ expiresAt: z.number().int().nullable() }).strict()),
    policyLayer: z.boolean().describe('Whether a user policy layer names the person.'),
    audit: z
      .object({
        records: z.array(z.record(z.string(), z.unknown())),
        scanned: z.number().int(),
        truncated: z.boolean(),
      })
      .strict(),
    statistics: z.object({ personal: z.literal(false), note: z.string() }).strict(),
    notes: z.array(z.string()),
  })
  .strict();

/**
 * `GET /admin/v1/users/:user/export` (`subjects.export`, fresh factor, no integration key):
 * everything the server holds about the person, in one JSON document of schema
 * {@link SUBJECT_EXPORT_SCHEMA}; audited `subject.export` in the same transaction.
 *
 * @example
 * ```ts
 * const doc = await (await fetch(`${url}/admin/v1/users/alice/export`, { headers })).json();
 * ```
 */
export const exportSubjectOperation = defineAdminOperation({
  id: 'exportSubject',
  method: 'GET',
  path: '/admin/v1/users/:user/export',
  tag: 'subjects',
  summary: 'Export everything the server holds about a person (GDPR Art. 15 and 20)',
  description:
    'One JSON document (`cloister/subject-export/v1`): the user record, devices, public keys, pools, device lists, ' +
    'what waits in their mailboxes (counts and sizes only: content is end-to-end encrypted), blob usage, invites ' +
    'and the audit records that name them. Audited `subject.export`.',
  access: { permission: 'subjects.export', freshFactor: true, allowKey: false },
  params: userParams,
  status: 200,
  response: subjectExportSchema,
  handle: async (ctx, { me, params }) => {
    const uid = userId(params.user);
    return adminTransaction(ctx, async ({ tx, stores, scope }) => {
      const user = await stores.users.get(me.tenant, uid);
      if (user === undefined) throw new NotFoundError('user');
      const sealed = await hasSubjectKey(tx, me.tenant, uid);
      const pools = [];
      for (const p of user.pools)
        pools.push({ id: p, name: (await stores.pools.get(me.tenant, p))?.name ?? null });
      const devices = [];
      for (const d of await stores.devices.list(me.tenant, uid)) {
        const usage = await stores.mailboxes.usage(d.mailbox);
        const counts = await stores.bundles.countOneTime(me.tenant, uid, d.id);
        const blobs = await stores.usage.read({ kind: 'device', tenant: me.tenant, user: uid, device: d.id });
        const wipe = await wipeStatus(scope, { tenant: me.tenant, user: uid, device: d.id });
        devices.push({
          id: d.id as number,
          createdAt: d.createdAt,
          lastSeenAt: d.lastSeenAt,
          clientVersion: d.clientVersion ?? null,
          appVersion: d.appVersion ?? null,
          platform: d.platform ?? null,
          blocked: d.blocked,
          wipe:
            wipe.state === 'none'
              ? null
              : {
                  state: wipe.state,
                  issuedAt: wipe.issuedAt,
                  confirmedAt: wipe.state === 'confirmed' ? wipe.confirmedAt : null,
                },
          registrationId: d.registrationId as number,
          publicKeys: {
            signingKey: b64(d.identity.signingKey),
            dhKey: b64(d.identity.dhKey),
            fingerprint: `sha256:${hex(await ctx.provider.sha256(d.identity.signingKey))}`,
            oneTimePreKeys: counts.preKeys,
            kemPreKeys: counts.kemPreKeys,
          },
          mailbox: { envelopes: usage.envelopes, bytes: usage.bytes },
          blobs: { bytes: blobs.bytes, count: blobs.count },
        });
      }
      const deviceLists = [];
      for (const l of await stores.deviceLists.chain(me.tenant, uid)) {
        deviceLists.push({
          epoch: l.epoch,
          storedAt: l.storedAt,
          bytes: l.bytes.length,
          sha256: hex(await ctx.provider.sha256(l.bytes)),
        });
      }
      const invites = (await tx.list(INVITES_TABLE, key(me.tenant, uid), { limit: 1000 })).map((r) => ({
        expiresAt: r.expiresAt,
      }));
      const policyLayer =
        (await stores.policies.get({ kind: 'user', tenant: me.tenant, user: uid })) !== undefined;
      // The audit records that name the person (target `user` or `user/<device>`), newest first.
      const head = (await stores.audit.head(me.tenant))?.seq ?? 0;
      const records: Record<string, unknown>[] = [];
      let scanned = 0;
      for (let to = head; to >= 1 && scanned < SUBJECT_AUDIT_SCAN_LIMIT; ) {
        const from = Math.max(1, to - 999);
        const page = await stores.audit.list(me.tenant, { fromSeq: from, toSeq: to, limit: 1000 });
        scanned += to - from + 1;
        for (const r of page.reverse()) {
          if (r.target === uid || r.target.startsWith(`${uid}/`)) records.push(auditViewOf(r));
        }
        to = from - 1;
      }
      const truncated = scanned < head;
      const audit = await stores.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'subject.export',
        target: uid,
        outcome: 'success',
        details: { devices: devices.length, auditRecords: records.length },
      });
      return {
        schema: SUBJECT_EXPORT_SCHEMA,
        generatedAt: audit.at,
        tenant: me.tenant,
        user: {
          id: user.id,
          displayName: user.displayName,
          email: user.email ?? null,
          pools,
          roles: [...user.roles],
          blocked: user.blocked,
          createdAt: user.createdAt,
          personalDataSealed: sealed,
        },
        devices,
        deviceLists,
        invites,
        policyLayer,
        audit: { records, scanned: Math.min(scanned, head), truncated },
        statistics: {
          personal: false as const,
          note:
            'Usage statistics hold counts per day, month and pool; the distinct counts are kept as keyed hashes under a ' +
            'key destroyed when the period is aggregated, and published only for groups of at least 5 people. ' +
            'Nothing in them can be read back to this person.',
        },
        notes: [
          'Message content, attachments and archive seals are end-to-end encrypted to keys the server never holds: ' +
            'the mailbox figures are counts and stored sizes only.',
          'Blobs are addressed by opaque ids and not linked to their uploader: only the usage ledger of each device ' +
            'counts them.',
          'The server keeps no record of whom the person writes to: sealed deliveries carry no sender.',
        ],
      };
    });
  },
});

/**
 * The data-subject operations (the erasure is `deleteUser`).
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, SUBJECT_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const SUBJECT_OPERATIONS = [exportSubjectOperation] as const;
