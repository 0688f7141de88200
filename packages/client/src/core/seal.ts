/**
 * Sending to one device: whether a v2 session with it exists, and a plaintext encrypted for it
 * (static-v1, or v2 over its session) and sealed in an envelope with the sender certificate.
 *
 * @module
 */
import {
  equalBytes,
  type PreKeyBundle,
  type SenderCertificate,
  SessionCipher,
  sealEnvelope,
  staticV1Encrypt,
  utf8,
} from '@cloister/crypto';
import { encodeDeviceMessage } from '@cloister/protocol';
import { CONTENT_TYPE_DEVICE_MESSAGE, type CoreSelf, type CoreTx, type DirectoryDevice } from './types.js';

/** Whether a v2 session with `device` exists. */
export async function hasSession(t: CoreTx, device: DirectoryDevice): Promise<boolean> {
  const record = await t.stores.sessions.loadSession({ userId: device.userId, deviceId: device.deviceId });
  return record?.current !== undefined;
}

/**
 * Encrypts `plaintext` for one device inside the caller's transaction (so the advanced ratchet
 * state commits before the ciphertext leaves) and seals it in an envelope with the sender
 * certificate. For a v2 device without a session, `fullBundle` (with one-time prekeys) starts one.
 * Resolves the sealed envelope.
 *
 * @example
 * ```ts
 * const envelope = await sealForDevice(self, coreTx, { device, plaintext: bytes, certificate });
 * ```
 */
export async function sealForDevice(
  self: CoreSelf,
  t: CoreTx,
  args: {
    readonly device: DirectoryDevice;
    readonly plaintext: Uint8Array;
    readonly certificate: SenderCertificate;
    readonly fullBundle?: PreKeyBundle;
  },
): Promise<Uint8Array> {
  const { device } = args;
  const address = { userId: device.userId, deviceId: device.deviceId };
  let wire: Uint8Array;
  if (device.suite === 'static-v1') {
    const sealed = await staticV1Encrypt(self.provider, {
      sender: self.identity.dhKeyPair,
      recipientPublicKey: device.bundle.identity.dhKey,
      plaintext: args.plaintext,
    });
    wire = encodeDeviceMessage({
      suite: 'static-v1',
      type: 'static-v1',
      message: { senderKey: self.identity.dhKeyPair.publicKey, sealed },
    });
  } else {
    const cipher = new SessionCipher(self.provider, {
      ourIdentity: self.identity,
      remoteAddress: address,
      sessions: t.stores.sessions,
      isTrustedIdentity: (identity) =>
        equalBytes(identity.signingKey, device.bundle.identity.signingKey) &&
        equalBytes(identity.dhKey, device.bundle.identity.dhKey),
    });
    if (args.fullBundle !== undefined) await cipher.startSession(args.fullBundle);
    wire = encodeDeviceMessage({ suite: 'v2', ...(await cipher.encrypt(args.plaintext)) });
  }
  return sealEnvelope(self.provider, {
    recipientPublicKey: device.bundle.identity.dhKey,
    mailbox: utf8(device.mailbox),
    deliveryToken: device.deliveryToken,
    certificate: args.certificate,
    contentType: CONTENT_TYPE_DEVICE_MESSAGE,
    body: wire,
  });
}
