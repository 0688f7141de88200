/**
 * Encrypted file blobs (R04): a device uploads the ciphertext of a file in fixed-size chunks, in
 * any order and resumably, then marks it finished; any authenticated device of the same tenant
 * that knows the blob id downloads it chunk by chunk. The server stores opaque bytes with a size
 * and an expiry and never learns what the file is.
 *
 * The blob id is a capability bound to the tenant and the uploader without storing either:
 *
 *   blobId  = "blb_" ‖ base64url(r ‖ tag)                           r: 16 random bytes
 *   tag     = HMAC-SHA256(K, "cloister/server/v1/blob-owner" ‖ lp(tenant) ‖ lp(user) ‖ u32(device) ‖ r)[0..16)
 *   storeId = "b_" ‖ base64url(HMAC-SHA256(K, "cloister/server/v1/blob-store-id" ‖ lp(tenant) ‖ r ‖ tag))
 *   K       = HKDF-SHA256(organisation key, salt = none, info = "cloister/server/v1/blob-key", 32)
 *
 * (`lp` is a 2-byte big-endian length prefix.) A device of another tenant derives another store
 * id and finds nothing (404); only the device whose tag matches may upload chunks, finish or
 * delete (403 for the others). See `spec/server-blobs.md`.
 *
 * Quotas: the uploader's device and tenant are known at `POST` (the caller) and at `DELETE` (the
 * caller, who must be the uploader), so the store counts the declared size against them in its
 * usage ledger there, without writing either next to the blob: 507 `ERR_QUOTA` past
 * `limits.blobMaxBytesPerDevice` (`device.blobBytes`), `limits.blobMaxCountPerDevice`
 * (`device.blobs`) or `limits.tenantMaxBytes` (`tenant.bytes`, blobs and archive together).
 *
 * @module
 */
import {
  concatBytes,
  equalBytes,
  ForbiddenError,
  LimitError,
  uintBE,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { type BlobId, SERVER_BLOB_ID_PATTERN, blobId as toBlobId } from '@cloister/protocol';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { DeviceAuth } from '../auth.js';
import type { RouteModule, ServerLimits } from '../context.js';
import { createRateLimiter, limitPerDevice, requestDevice } from '../rate-limits.js';
import {
  BLOB_UPLOAD_CHUNK_BYTES,
  type BlobOwner,
  type BlobQuotas,
  type BlobStatus,
  NotFoundError,
} from '../store/index.js';

/**
 * HKDF info of the key that binds blob ids to their tenant and uploader
 * (`cloister/server/v1/blob-key`; HKDF-SHA256 of the organisation key, no salt, 32 bytes).
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const key = await provider.hkdfSha256(ctx.organisationKey, new Uint8Array(0), utf8(BLOB_KEY_LABEL), 32);
 * ```
 */
export const BLOB_KEY_LABEL = 'cloister/server/v1/blob-key';
/**
 * The route pattern of a blob's chunks (`PUT` uploads one, `GET` downloads one); an upload gets
 * the server's longer blob chunk timeout.
 *
 * @example
 * ```ts
 * const longUpload = route.method === 'PUT' && route.url === BLOB_CHUNK_PATH;
 * ```
 */
export const BLOB_CHUNK_PATH = '/v1/blobs/:blobId/chunks/:index';
const OWNER_LABEL = 'cloister/server/v1/blob-owner';
const STORE_ID_LABEL = 'cloister/server/v1/blob-store-id';
const INDEX_PATTERN = /^(0|[1-9][0-9]{0,9})$/;

/**
 * Options of {@link createBlobRoutes}.
 *
 * @example
 * ```ts
 * const routes = createBlobRoutes({ perDevice: { max: 300, windowMs: 60_000 } } satisfies BlobRouteOptions);
 * ```
 */
export interface BlobRouteOptions {
  /** Requests per device per window on the blob routes (default 600 per minute). */
  readonly perDevice?: { readonly max: number; readonly windowMs: number };
  /** Longest lifetime of a blob in ms (default: the mailbox retention, `ctx.limits.mailboxRetentionMs`). */
  readonly maxExpiryMs?: number;
}

const CreateBody = z
  .object({
    size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    expiresInMs: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();

function lp(bytes: Uint8Array): Uint8Array {
  return concatBytes(uintBE(bytes.length, 2), bytes);
}

function params(request: FastifyRequest): Record<string, unknown> {
  const p = request.params;
  return typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : {};
}

function parseIndex(value: unknown): number {
  if (typeof value !== 'string' || !INDEX_PATTERN.test(value)) {
    throw new ValidationError('index', 'a chunk index (a decimal integer)');
  }
  const index = Number(value);
  if (index > 0xffff_ffff) throw new ValidationError('index', 'a chunk index (a decimal integer)');
  return index;
}

interface ParsedId {
  readonly r: Uint8Array;
  readonly tag: Uint8Array;
}

function parseBlobId(value: unknown): ParsedId {
  if (typeof value !== 'string' || !SERVER_BLOB_ID_PATTERN.test(value)) {
    throw new ValidationError('blobId', 'a blob id');
  }
  const raw = new Uint8Array(Buffer.from(value.slice(4), 'base64url'));
  if (raw.length !== 32) throw new ValidationError('blobId', 'a blob id');
  return { r: raw.subarray(0, 16), tag: raw.subarray(16) };
}

/** The storage quotas of `limits`, each a safe integer of at least 0 (checked when the routes are registered). */
function quotasOf(limits: ServerLimits): BlobQuotas {
  const entries = [
    ['blobMaxBytesPerDevice', limits.blobMaxBytesPerDevice],
    ['blobMaxCountPerDevice', limits.blobMaxCountPerDevice],
    ['tenantMaxBytes', limits.tenantMaxBytes],
  ] as const;
  for (const [name, value] of entries) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ValidationError(`limits.${name}`, 'an integer of at least 0');
    }
  }
  return {
    maxBytesPerDevice: limits.blobMaxBytesPerDevice,
    maxCountPerDevice: limits.blobMaxCountPerDevice,
    tenantMaxBytes: limits.tenantMaxBytes,
  };
}

const ownerOf = (me: DeviceAuth): BlobOwner => ({ tenant: me.tenant, user: me.user, device: me.device });

function statusBody(publicId: string, s: BlobStatus) {
  return {
    blobId: publicId,
    size: s.size,
    chunkBytes: s.chunkSize,
    chunks: s.chunkCount,
    present: s.present,
    complete: s.complete,
    expiresAt: s.expiresAt,
  };
}

/**
 * Creates the blob route module:
 *
 * - `POST /v1/blobs` `{ size, expiresInMs? }` → `{ blobId, chunkBytes, chunks, expiresAt }`
 * - `PUT /v1/blobs/:blobId/chunks/:index` (raw ciphertext, `application/octet-stream`) → 204
 * - `GET /v1/blobs/:blobId` → `{ blobId, size, chunkBytes, chunks, present, complete, expiresAt }`
 * - `POST /v1/blobs/:blobId/finish` → the status, or 409 while a chunk is missing
 * - `GET /v1/blobs/:blobId/chunks/:index` → the chunk's bytes (finished blobs only)
 * - `DELETE /v1/blobs/:blobId` → 204 (the uploader only)
 *
 * Every route authenticates the device and counts against its per-device limit.
 *
 * @example
 * ```ts
 * const server = await createServer({
 *   dataDir: './cloister-data',
 *   routes: [enrolmentRoutes, keyRoutes, deliveryRoutes, createBlobRoutes({ perDevice: { max: 120, windowMs: 60_000 } })],
 * });
 * ```
 */
export function createBlobRoutes(options: BlobRouteOptions = {}): RouteModule {
  return async (app, ctx) => {
    const chunkBytes = ctx.limits.blobChunkBytes;
    if (
      !Number.isInteger(chunkBytes) ||
      chunkBytes < BLOB_UPLOAD_CHUNK_BYTES.min ||
      chunkBytes > BLOB_UPLOAD_CHUNK_BYTES.max
    ) {
      throw new ValidationError(
        'limits.blobChunkBytes',
        `an integer from ${BLOB_UPLOAD_CHUNK_BYTES.min} to ${BLOB_UPLOAD_CHUNK_BYTES.max}`,
      );
    }
    const quotas = quotasOf(ctx.limits);
    const maxExpiryMs = options.maxExpiryMs ?? ctx.limits.mailboxRetentionMs;
    if (!Number.isInteger(maxExpiryMs) || maxExpiryMs < 1) {
      throw new ValidationError('maxExpiryMs', 'a positive integer');
    }
    const perDevice = options.perDevice ?? { max: 600, windowMs: 60_000 };
    const limiter = createRateLimiter({ ...perDevice, now: ctx.now });
    const preHandler = limitPerDevice(ctx, limiter);
    const key = await ctx.provider.hkdfSha256(
      ctx.organisationKey,
      new Uint8Array(0),
      utf8(BLOB_KEY_LABEL),
      32,
    );

    async function ownerTag(me: DeviceAuth, r: Uint8Array): Promise<Uint8Array> {
      const mac = await ctx.provider.hmacSha256(
        key,
        concatBytes(utf8(OWNER_LABEL), lp(utf8(me.tenant)), lp(utf8(me.user)), uintBE(me.device, 4), r),
      );
      return mac.subarray(0, 16);
    }

    async function storeId(me: DeviceAuth, id: ParsedId): Promise<BlobId> {
      const mac = await ctx.provider.hmacSha256(
        key,
        concatBytes(utf8(STORE_ID_LABEL), lp(utf8(me.tenant)), id.r, id.tag),
      );
      return toBlobId(`b_${Buffer.from(mac).toString('base64url')}`);
    }

    /** The caller's view of the blob named in the path: its store id, and whether it uploaded it. */
    async function resolve(request: FastifyRequest) {
      const me = await requestDevice(ctx, request);
      const publicId = params(request).blobId;
      const parsed = parseBlobId(publicId);
      const id = await storeId(me, parsed);
      const owner = equalBytes(await ownerTag(me, parsed.r), parsed.tag);
      return { publicId: publicId as string, id, owner, me };
    }

    /** Refuses a caller that did not upload the blob: 404 when it does not exist for them, else 403. */
    async function requireOwner(blob: { id: BlobId; owner: boolean }): Promise<void> {
      if (blob.owner) return;
      if ((await ctx.stores.blobs.status(blob.id)) === undefined) throw new NotFoundError('blob');
      throw new ForbiddenError('only the uploader may do this');
    }

    app.post('/v1/blobs', { preHandler }, async (request, reply) => {
      const me = await requestDevice(ctx, request);
      const body = CreateBody.parse(request.body);
      if (body.size > ctx.limits.blobBytes) {
        throw new LimitError(`blobs are limited to ${ctx.limits.blobBytes} bytes`);
      }
      const lifetime = Math.min(body.expiresInMs ?? maxExpiryMs, maxExpiryMs);
      const r = ctx.provider.randomBytes(16);
      const tag = await ownerTag(me, r);
      const publicId = `blb_${Buffer.from(concatBytes(r, tag)).toString('base64url')}`;
      const status = await ctx.stores.blobs.begin(
        await storeId(me, { r, tag }),
        body.size,
        ctx.now() + lifetime,
        { chunkSize: chunkBytes, owner: ownerOf(me), quotas },
      );
      return reply.code(201).send({
        blobId: publicId,
        chunkBytes: status.chunkSize,
        chunks: status.chunkCount,
        expiresAt: status.expiresAt,
      });
    });

    app.put(BLOB_CHUNK_PATH, { preHandler, bodyLimit: chunkBytes }, async (request, reply) => {
      const blob = await resolve(request);
      const index = parseIndex(params(request).index);
      const body = request.body;
      const type = String(request.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim()
        .toLowerCase();
      if (!Buffer.isBuffer(body) || type !== 'application/octet-stream') {
        throw new ValidationError('body', 'the chunk bytes as application/octet-stream');
      }
      await requireOwner(blob);
      await ctx.stores.blobs.putChunk(
        blob.id,
        index,
        new Uint8Array(body.buffer, body.byteOffset, body.length),
      );
      return reply.code(204).send();
    });

    app.get('/v1/blobs/:blobId', { preHandler }, async (request) => {
      const blob = await resolve(request);
      const status = await ctx.stores.blobs.status(blob.id);
      if (status === undefined) throw new NotFoundError('blob');
      return statusBody(blob.publicId, status);
    });

    app.post('/v1/blobs/:blobId/finish', { preHandler }, async (request) => {
      const blob = await resolve(request);
      await requireOwner(blob);
      return statusBody(blob.publicId, await ctx.stores.blobs.finish(blob.id));
    });

    app.get(BLOB_CHUNK_PATH, { preHandler }, async (request, reply) => {
      const blob = await resolve(request);
      const index = parseIndex(params(request).index);
      const status = await ctx.stores.blobs.status(blob.id);
      if (status === undefined) throw new NotFoundError('blob');
      if (index >= status.chunkCount) throw new NotFoundError('chunk');
      const bytes = await ctx.stores.blobs.readChunk(blob.id, index);
      return reply
        .header('cache-control', 'no-store')
        .type('application/octet-stream')
        .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    });

    app.delete('/v1/blobs/:blobId', { preHandler }, async (request, reply) => {
      const blob = await resolve(request);
      await requireOwner(blob);
      // The caller uploaded it (checked above): its size comes off the caller's and tenant's usage.
      if (!(await ctx.stores.blobs.delete(blob.id, ownerOf(blob.me)))) throw new NotFoundError('blob');
      return reply.code(204).send();
    });
  };
}

/**
 * The blob routes with the default limits (600 requests per device per minute, lifetime at most
 * the mailbox retention).
 *
 * @example
 * ```ts
 * const server = await createServer({ dataDir: './cloister-data', routes: [enrolmentRoutes, blobRoutes] });
 * ```
 */
export const blobRoutes: RouteModule = createBlobRoutes();
