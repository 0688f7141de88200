// Values the examples of @cloister/client may take as given (see spec/api-docs.md).
declare const client: import('@cloister/client').CloisterClient;
declare const stores: import('@cloister/client').ClientStores;
declare const adapter: import('@cloister/storage').StorageAdapter;
declare const transport: import('@cloister/client').Transport;
/** The server's URL and its public-key pin (`sha256/…`), as the organisation hands them out. */
declare const url: string;
declare const pin: string;
/** An enrolment code from the organisation's administrator. */
declare const code: string;
/** This device's identity; a remote device's address, public identity, session record and first message. */
declare const identity: import('@cloister/crypto').DeviceIdentity;
declare const bob: import('@cloister/crypto').DeviceAddress;
declare const theirIdentity: import('@cloister/crypto').PublicIdentity;
declare const record: import('@cloister/crypto').SessionRecord;
declare const initialMessage: import('@cloister/crypto').InitialMessage;
/** A message the client received (from a `message` event or `history`). */
declare const message: import('@cloister/client').ClientMessage;
/** A group's id (64 hex digits), as `createGroup` resolved it. */
declare const group: string;
/** For the sans-IO core: this device, the stores and outbox of one transaction, a directory device, a sender certificate. */
declare const self: import('@cloister/client').CoreSelf;
declare const coreTx: import('@cloister/client').CoreTx;
declare const device: import('@cloister/client').DirectoryDevice;
declare const certificate: import('@cloister/crypto').SenderCertificate;
/** The device credential the server issued at enrolment. */
declare const credential: Uint8Array;
/** The client's persistent outbox (`createOutbox` over an executor). */
declare const outbox: import('@cloister/client').Outbox;
/** A WHATWG WebSocket as the browser transport uses it. */
declare const ws: import('@cloister/client').BrowserWebSocket;
/** A managed configuration as the platform delivered it, and the app's keystore secret (32 bytes). */
declare const deliveredConfig: Record<string, unknown>;
declare const keystoreSecret: Uint8Array;
