// Values the examples of @cloister/server (admin plane, organisation, stores) take as given.
declare const stores: import('@cloister/server').ServerStores;
declare const adapter: import('@cloister/storage').StorageAdapter;
/** The calling administrator, and the same caller as `authenticateAdmin` answers. */
declare const admin: import('@cloister/server').Administrator;
declare const auth: import('@cloister/server').AdminAuth;
/** An administrator's session token (43 base64url characters). */
declare const token: string;
/** The server's base URL, and the headers of an authenticated admin request. */
declare const url: string;
declare const headers: Record<string, string>;
/** A device's public identity, its private identity (device side), and a sealed envelope for it. */
declare const identity: import('@cloister/crypto').PublicIdentity;
declare const deviceIdentity: import('@cloister/crypto').DeviceIdentity;
declare const envelope: Uint8Array;
declare const blob: import('@cloister/protocol').BlobId;
/** The organisation root's public key, the owner certificate it signed, and a signed organisation object. */
declare const rootPublicKey: Uint8Array;
declare const ownerCertificate: Uint8Array;
declare const signedObject: Uint8Array;
/** A sealed compliance-archive item. */
declare const sealed: Uint8Array;
/** The 32-byte data key of encryption at rest. */
declare const dataKey: Uint8Array;
/** A signed, encoded device list. */
declare const deviceList: Uint8Array;
