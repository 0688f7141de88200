// Values the examples of @cloister/server (admin plane, organisation, stores) take as given.
declare const stores: import('@cloister/server').ServerStores;
declare const adapter: import('@cloister/storage').StorageAdapter;
declare const admin: import('@cloister/server').Administrator;
declare const auth: import('@cloister/server').AdminAuth;
declare const token: string;
declare const identity: import('@cloister/crypto').PublicIdentity;
declare const envelope: Uint8Array;
declare const url: string;
declare const headers: Record<string, string>;
declare const blob: import('@cloister/protocol').BlobId;
declare const rootPublicKey: Uint8Array;
declare const ownerCertificate: Uint8Array;
declare const signedObject: Uint8Array;
declare const sealed: Uint8Array;
declare const deviceIdentity: import('@cloister/crypto').DeviceIdentity;
declare const dataKey: Uint8Array;
declare const deviceList: Uint8Array;
