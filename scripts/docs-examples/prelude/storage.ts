// Values the examples of @cloister/storage may take as given (see spec/api-docs.md).
declare const adapter: import('@cloister/storage').StorageAdapter;
declare const tx: import('@cloister/storage').StorageTx;
declare const mailbox: Uint8Array;
declare const dataKey: Uint8Array;
declare const keyring: import('@cloister/storage').ShreddingKeyring;
declare const target: import('@cloister/storage/conformance').ConformanceTarget;
