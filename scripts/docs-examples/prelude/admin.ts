// Values the examples of @cloister/admin may take as given (see spec/api-docs.md).
/** A client logged in as an administrator. */
declare const admin: import('@cloister/admin').AdminClient;
/** A client holding the operator token. */
declare const operator: import('@cloister/admin').AdminClient;
declare const transport: import('@cloister/admin').AdminTransport;
/** The answer of `AdminClient.login`. */
declare const session: import('@cloister/admin').LoginAnswer;
/** The caller, as `admin.whoami()` answers. */
declare const me: import('@cloister/admin').WhoAmI;
/** What `generateOrganisation` created on the owner's machine. */
declare const org: import('@cloister/admin').GeneratedOrganisation;
/** An opened root key store. */
declare const root: import('@cloister/admin').RootKey;
/** An opened key request: a new administrator's key pair awaiting its certificate. */
declare const request: import('@cloister/admin').KeyRequest;
declare const signer: import('@cloister/admin').OrganisationSigner;
/** An administrator certificate's bytes. */
declare const certificate: Uint8Array;
/** The organisation root public key (32 bytes). */
declare const rootPublicKey: Uint8Array;
/** A new administrator's Ed25519 public key (32 bytes). */
declare const adminPublicKey: Uint8Array;
/** A device's public identity. */
declare const identity: import('@cloister/crypto').PublicIdentity;
/** A key store's text. */
declare const storeText: string;
/** An enrolment code (87 characters). */
declare const code: string;
/** The server's public-key pin, `sha256/<base64>`. */
declare const pin: string;
declare const passphrase: string;
declare const email: string;
declare const password: string;
declare const totp: string;
/** The calls an area of the SDK is built on (what `AdminClient` hands each area). */
declare const caller: import('@cloister/admin').AdminCaller;
/** A validated configuration of the directory bridge (`parseDirectoryConfig`). */
declare const config: import('@cloister/admin/node').DirectoryConfig;
/** The directory bridge's SCIM client. */
declare const scim: import('@cloister/admin/node').ScimClient;
