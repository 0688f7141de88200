/**
 * Files: encrypting a file as a stream, uploading the ciphertext in the server's chunks and
 * sending the reference as a message; downloading, checking the ciphertext's digest before any
 * decryption, and decrypting. Refused by policy before anything is read or sent: sending when
 * `files.send` is off or `media.send` does not allow the file's media type (`application/octet-stream`
 * when the app gives none), downloading when `files.download` is off (`spec/restrictions.md`). In a
 * group conversation whose group has a group layer, that group's policy decides
 * (`policyForConversation`, `spec/restrictions.md` §1.2).
 *
 * @module
 */
import {
  concatBytes,
  DecryptionFailed,
  decryptFileStream,
  encryptFileStream,
  equalBytes,
  fileCiphertextLength,
  ValidationError,
} from '@cloister/crypto';
import { type ConversationId, type FileReference, SERVER_BLOB_ID_PATTERN } from '@cloister/protocol';
import type { ClientContext, Unlocked } from './context.js';
import {
  type ClientMessage,
  checkFileDownload,
  checkFileSend,
  checkForward,
  checkTimer,
  policyForConversation,
  type Recipient,
  resolveRecipient,
} from './core/index.js';
import type { Messaging } from './messaging.js';
import type { OutgoingFile, SendOptions, TransferProgress } from './options.js';
import { expectOk } from './transport/common.js';

/** Bytes handed to the encryption at a time when the file is given as bytes: 1 MiB. */
const SLICE_BYTES = 1 << 20;

/** File transfers of one client. */
export class Files {
  readonly #ctx: ClientContext;
  readonly #messaging: Messaging;

  constructor(ctx: ClientContext, messaging: Messaging) {
    this.#ctx = ctx;
    this.#messaging = messaging;
  }

  /** Encrypts and uploads `file`, then sends its reference to `to`. */
  async sendFile(to: Recipient, file: OutgoingFile, options: SendOptions = {}): Promise<ClientMessage> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    if (typeof file !== 'object' || file === null) throw new ValidationError('file', 'an object');
    if (file.mediaType !== undefined && typeof file.mediaType !== 'string') {
      throw new ValidationError('file.mediaType', 'a media type');
    }
    const policy = policyForConversation(ctx.policy, resolveRecipient(to).conversationId);
    checkFileSend(policy, file.mediaType ?? 'application/octet-stream');
    if (options.expireTimerSeconds !== undefined) checkTimer(policy, options.expireTimerSeconds * 1000);
    const size = file.data instanceof Uint8Array ? file.data.length : file.size;
    if (size === undefined || !Number.isSafeInteger(size) || size <= 0) {
      throw new ValidationError('file.size', 'the size in bytes of a non-empty file');
    }
    // Before the upload: a user the directory does not know is refused with nothing sent.
    await this.#messaging.checkRecipient(to);
    const plaintext =
      file.data instanceof Uint8Array
        ? new ReadableStream<Uint8Array>({
            start(c) {
              const data = file.data as Uint8Array;
              for (let i = 0; i < data.length; i += SLICE_BYTES) c.enqueue(data.subarray(i, i + SLICE_BYTES));
              c.close();
            },
          })
        : file.data;
    const progress = options.onProgress;
    const enc = encryptFileStream(ctx.provider, {
      plaintextStream: plaintext,
      onProgress: (bytes) => progress?.({ phase: 'encrypt', bytes, total: size }),
    });
    const ciphertextSize = fileCiphertextLength(size);
    const blobId = await upload(u, enc.ciphertext, ciphertextSize, progress);
    const result = await enc.done;
    expectOk(
      await u.transport.request('POST', `${blobPath(blobId, 'server.response.blobId')}/finish`, { json: {} }),
    );
    const reference: FileReference = {
      fileKey: enc.fileKey,
      digest: result.digest,
      size: result.size,
      mediaType: file.mediaType ?? 'application/octet-stream',
      locator: blobId,
      ...(file.name === undefined ? {} : { fileName: file.name }),
      ciphertextSize: result.ciphertextSize,
    };
    return this.#messaging.send(to, { type: 'file', file: reference }, options, true);
  }

  /**
   * Sends the text or file of `message` to `to` as a new message of this user. Refused
   * (`ForbiddenError`) when `messages.forward` is off in the message's conversation or in the
   * destination's, and for a file when sending it to `to` would be (`files.send`, `media.send`);
   * a body other than text or file is a `ValidationError`. A file is forwarded by its reference:
   * nothing is downloaded or uploaded again.
   */
  async forwardMessage(
    message: ClientMessage,
    to: Recipient,
    options: SendOptions = {},
  ): Promise<ClientMessage> {
    const ctx = this.#ctx;
    ctx.ready();
    const target = policyForConversation(ctx.policy, resolveRecipient(to).conversationId);
    const from = (message as { conversationId?: unknown } | null)?.conversationId;
    // Out of a group and into one: both conversations' policies must allow forwarding.
    checkForward(policyForConversation(ctx.policy, typeof from === 'string' ? from : undefined));
    checkForward(target);
    const body = (message as { content?: { body?: ClientMessage['content']['body'] } } | null)?.content?.body;
    if (options.expireTimerSeconds !== undefined) checkTimer(target, options.expireTimerSeconds * 1000);
    if (body?.type === 'text') return this.#messaging.send(to, { type: 'text', text: body.text }, options);
    if (body?.type === 'file') {
      checkFileSend(target, body.file.mediaType);
      return this.#messaging.send(to, { type: 'file', file: body.file }, options);
    }
    throw new ValidationError('message', 'a text or file message');
  }

  /**
   * Downloads, checks (digest) and decrypts the file of a file message: `file` is the message
   * (its conversation's policy decides) or its file reference (the conversation given in
   * `options.conversationId` decides, else the user-wide policy).
   */
  async downloadFile(
    given: FileReference | ClientMessage,
    options: {
      readonly onProgress?: (progress: TransferProgress) => void;
      readonly conversationId?: ConversationId;
    } = {},
  ): Promise<Uint8Array> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    if (typeof given !== 'object' || given === null) throw new ValidationError('file', 'a file reference');
    let file = given as FileReference;
    let conversation = options.conversationId;
    if ('content' in given) {
      const body = given.content?.body;
      if (body?.type !== 'file') throw new ValidationError('file', 'a file message or a file reference');
      file = body.file;
      conversation = given.conversationId;
    }
    checkFileDownload(policyForConversation(ctx.policy, conversation));
    const locator = blobPath(file.locator, 'file.locator');
    const status = expectOk(await u.transport.request('GET', locator)).json as {
      chunks: number;
      size?: number;
    };
    const chunks: Uint8Array[] = [];
    let total = 0;
    const expected = file.ciphertextSize ?? 0;
    for (let i = 0; i < status.chunks; i++) {
      const res = expectOk(await u.transport.request('GET', `${locator}/chunks/${i}`));
      chunks.push(res.body);
      total += res.body.length;
      options.onProgress?.({ phase: 'download', bytes: total, total: expected || total });
    }
    const ciphertext = concatBytes(...chunks);
    const digest = await ctx.provider.sha256(ciphertext);
    if (!equalBytes(digest, file.digest)) throw new DecryptionFailed();
    const stream = decryptFileStream(ctx.provider, {
      fileKey: file.fileKey,
      ciphertextStream: new ReadableStream({
        start(c) {
          c.enqueue(ciphertext);
          c.close();
        },
      }),
    });
    const out: Uint8Array[] = [];
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out.push(value);
    }
    return concatBytes(...out);
  }
}

/**
 * The path of the blob a file reference names. The locator comes from a peer: it must be a blob
 * id in its exact format, and is encoded anyway, so that it can never name another route.
 */
function blobPath(locator: unknown, field: string): string {
  if (typeof locator !== 'string' || !SERVER_BLOB_ID_PATTERN.test(locator)) {
    throw new ValidationError(field, 'a blob id (blb_ and 43 base64url characters)');
  }
  return `/v1/blobs/${encodeURIComponent(locator)}`;
}

/** Creates a blob of `size` bytes and uploads `ciphertext` in the server's chunk size; resolves the blob id. */
async function upload(
  u: Unlocked,
  ciphertext: ReadableStream<Uint8Array>,
  size: number,
  progress: ((p: TransferProgress) => void) | undefined,
): Promise<string> {
  const created = expectOk(await u.transport.request('POST', '/v1/blobs', { json: { size } })).json as {
    blobId: string;
    chunkBytes: number;
  };
  const path = blobPath(created.blobId, 'server.response.blobId');
  const reader = ciphertext.getReader();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let index = 0;
  let uploaded = 0;
  const flush = async (all: boolean) => {
    while (pendingBytes >= created.chunkBytes || (all && pendingBytes > 0)) {
      const joined = concatBytes(...pending);
      const chunk = joined.subarray(0, Math.min(created.chunkBytes, joined.length));
      expectOk(
        await u.transport.request('PUT', `${path}/chunks/${index}`, {
          body: chunk,
          contentType: 'application/octet-stream',
        }),
      );
      index++;
      uploaded += chunk.length;
      progress?.({ phase: 'upload', bytes: uploaded, total: size });
      const rest = joined.slice(chunk.length);
      pending = rest.length > 0 ? [rest] : [];
      pendingBytes = rest.length;
    }
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending.push(value);
    pendingBytes += value.length;
    await flush(false);
  }
  await flush(true);
  return created.blobId;
}
