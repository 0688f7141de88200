// Values every package's examples may take as given (see spec/api-docs.md).
declare const provider: import('@cloister/crypto').CryptoProvider;
declare const bytes: Uint8Array;
declare const signal: AbortSignal;
