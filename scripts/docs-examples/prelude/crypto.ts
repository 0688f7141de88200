// Values the @cloister/crypto examples take as given (see spec/api-docs.md).

// Suite v2: our device, a peer device's bundle, the identity pinned for it, our stores.
declare const identity: import('@cloister/crypto').DeviceIdentity;
declare const bundle: import('@cloister/crypto').PreKeyBundle;
declare const pinned: import('@cloister/crypto').PublicIdentity;
/** The newest `suitesIssuedAt` already verified for the peer device. */
declare let seen: number;
declare const preKeys: import('@cloister/crypto').PreKeyStore;
declare const sessions: import('@cloister/crypto').SessionStore;
declare const cipher: import('@cloister/crypto').SessionCipher;
declare const record: import('@cloister/crypto').SessionRecord;
declare const session: import('@cloister/crypto').SessionState;
/** A message received from the peer device. */
declare const incoming: import('@cloister/crypto').CiphertextMessage;
declare const initial: import('@cloister/crypto').InitialMessage;
declare const message: import('@cloister/crypto').RatchetMessage;
declare const spk: import('@cloister/crypto').SignedPreKey;
declare const lastResort: import('@cloister/crypto').KemPreKey;
declare const opks: readonly import('@cloister/crypto').OneTimePreKey[];

// Envelopes, certificates, archive seals, remote wipe.
/** The tenant's Ed25519 key pair (sender certificates, wipe commands). */
declare const tenant: import('@cloister/crypto').KeyPair;
declare const certificate: import('@cloister/crypto').SenderCertificate;
declare const recipient: import('@cloister/crypto').EnvelopeRecipient;
declare const recipients: readonly import('@cloister/crypto').EnvelopeRecipient[];
/** The tenant's X25519 archive key pair. */
declare const archive: import('@cloister/crypto').KeyPair;
/** A signed archive seal. */
declare const sealed: Uint8Array;

// Suite static-v1: static X25519 key pairs of three users.
declare const alice: import('@cloister/crypto').KeyPair;
declare const bob: import('@cloister/crypto').KeyPair;
declare const carol: import('@cloister/crypto').KeyPair;

// Files and groups.
declare const file: Blob;
declare const fileKey: Uint8Array;
declare const ciphertext: Uint8Array;
declare const groupId: Uint8Array;
declare const change: import('@cloister/crypto').GroupChange;
declare const wrap: import('@cloister/crypto').GroupKeyWrap;
