// Values the examples of @cloister/protocol may take as given (see spec/api-docs.md).
/** Bytes received from the wire (a frame to decode). */
declare const frame: Uint8Array;
/** A decrypted message body (what `encodeContent` produced on the sender). */
declare const plaintext: Uint8Array;
/** A received message's decoded content. */
declare const content: import('@cloister/protocol').Content;
/** A file reference of a file message. */
declare const file: import('@cloister/protocol').FileReference;
/** The session with one remote device. */
declare const cipher: import('@cloister/crypto').SessionCipher;
/** A remote device's decoded prekey bundle. */
declare const bundle: import('@cloister/crypto').PreKeyBundle;
/** This device's identity key pairs. */
declare const identity: import('@cloister/crypto').DeviceIdentity;
/** The identity pinned for a remote device. */
declare const peerIdentity: import('@cloister/crypto').PublicIdentity;
/** This device's static-v1 X25519 key pair and a peer's static public key. */
declare const staticKeys: import('@cloister/crypto').KeyPair;
declare const peerStaticKey: Uint8Array;
/** A group change and a group content encryption (`encryptForGroup`) of `@cloister/crypto`. */
declare const change: import('@cloister/crypto').GroupChange;
declare const encrypted: import('@cloister/crypto').GroupEncrypted;
/** A sealed envelope (`sealEnvelope` of `@cloister/crypto`), and several. */
declare const envelope: Uint8Array;
declare const envelopes: readonly Uint8Array[];
/** The tenant and the user an example is about. */
declare const tenant: import('@cloister/protocol').TenantId;
declare const user: import('@cloister/protocol').UserId;
/** The device list this device pinned for `user`, and the signed lists the server answered. */
declare const pinned: import('@cloister/protocol').SignedDeviceList;
declare const lists: readonly Uint8Array[];
/** An enrolment token (43 base64url characters). */
declare const enrolmentToken: string;
/** The organisation root key pair (on the owner's machine) and the root public key a client pinned. */
declare const root: import('@cloister/crypto').KeyPair;
declare const rootPublicKey: Uint8Array;
/** The root fingerprint from an enrolment code, `cloister-root:v1:…`. */
declare const pinnedFingerprint: string;
/** A decoded administrator certificate. */
declare const certificate: import('@cloister/protocol').AdminCertificate;
/** An administrator's Ed25519 key pair halves and certificate bytes. */
declare const adminPublicKey: Uint8Array;
declare const adminPrivateKey: Uint8Array;
declare const adminCertificate: Uint8Array;
/** The server key a sender certificate was verified under (Ed25519, 32 bytes). */
declare const serverSigningKey: Uint8Array;
/** The tenant's signing key pair halves (revocation lists, reach statements). */
declare const tenantPrivateKey: Uint8Array;
declare const tenantPublicKey: Uint8Array;
/** A user's retention policy. */
declare const policy: import('@cloister/protocol').RetentionPolicy;
/** A managed configuration as the platform delivered it (NSUserDefaults, Android restrictions). */
declare const deliveredConfig: Record<string, unknown>;
