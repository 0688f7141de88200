// Values the examples of @cloister/admin's auditors' tool (src/archive/) take as given.
/** A time range, ms since the epoch. */
declare const from: number;
declare const to: number;
declare let count: number;
/** Archive items, records and where they are written. */
declare const items: AsyncIterable<import('@cloister/admin').ArchiveItem>;
declare const records: AsyncIterable<import('@cloister/admin').ArchiveRecord>;
declare const record: import('@cloister/admin').ArchiveRecord;
declare const message: import('@cloister/admin').ArchivedMessage;
declare const file: import('@cloister/admin').ArchivedFile;
declare const sink: import('@cloister/admin').ArchiveSink;
declare const tally: import('@cloister/admin').ExportTally;
declare const hold: import('@cloister/admin').LegalHold;
declare const response: import('@cloister/admin').AdminResponse;
declare const options: import('@cloister/admin').OpenArchiveOptions;
declare const use: (record: import('@cloister/admin').ArchiveRecord) => void;
declare const dir: string;
declare const text: string;
/** Keys and shares. */
declare const archivePrivateKey: Uint8Array;
declare const tenantPublicKey: Uint8Array;
declare const publicKey: Uint8Array;
declare const deliveryId: Uint8Array;
declare const setId: string;
declare const keySetId: string;
declare const holders: import('@cloister/admin').ArchiveKeySetHolderInput[];
declare const input: import('@cloister/admin').CreateArchiveKeySetInput;
declare const wrappedShares: readonly Uint8Array[];
declare const mine: Uint8Array;
declare const released: Uint8Array;
declare const auditor: import('@cloister/admin').AuditorKey;
declare const combiner: import('@cloister/admin').AuditorPublicKey;
declare const a1: Uint8Array;
declare const a2: Uint8Array;
declare const a3: Uint8Array;
declare const opened: import('@cloister/crypto').OpenedArchive;
declare const currentTenantDocument: {
  readonly [feature: string]: import('@cloister/protocol').SignedPolicyFeature;
};
declare const target: import('@cloister/admin').EmlTarget;
