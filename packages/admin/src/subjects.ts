/**
 * `admin.subjects`: data-subject requests (spec/data-subject.md): the export of everything the
 * server holds about a person (`subjects.export`, fresh second factor, GDPR Art. 15 and 20) and
 * their erasure by crypto-shredding (`users.delete`, fresh second factor, Art. 17).
 *
 * @module
 */
import { type AdminCaller, pathSegment } from './caller.js';

/**
 * The schema name of the export document this SDK reads.
 *
 * @example
 * ```ts
 * const doc = await admin.subjects.export('u-7f3a');
 * console.log(doc.schema === SUBJECT_EXPORT_SCHEMA); // true
 * ```
 */
export const SUBJECT_EXPORT_SCHEMA = 'cloister/subject-export/v1';

/**
 * One device of the person in the export.
 *
 * @example
 * ```ts
 * const doc = await admin.subjects.export('u-7f3a');
 * const d: SubjectDevice | undefined = doc.devices[0];
 * console.log(d?.publicKeys.fingerprint);
 * ```
 */
export interface SubjectDevice {
  /** The device id. */
  readonly id: number;
  /** When it enrolled (ms). */
  readonly createdAt: number;
  /** When it was last seen (ms), or null. */
  readonly lastSeenAt: number | null;
  /** The client version it reported, or null. */
  readonly clientVersion: string | null;
  /** The app version it reported, or null. */
  readonly appVersion: string | null;
  /** The platform it reported, or null. */
  readonly platform: string | null;
  /** Whether it is blocked. */
  readonly blocked: boolean;
  /** The remote wipe sent to it, or null. */
  readonly wipe: {
    /** `pending` or `confirmed`. */
    readonly state: 'pending' | 'confirmed';
    /** When the wipe was issued (ms). */
    readonly issuedAt: number;
    /** When the device confirmed it (ms), or null. */
    readonly confirmedAt: number | null;
  } | null;
  /** The registration id. */
  readonly registrationId: number;
  /** Its public keys (base64url) and pre-key counts. */
  readonly publicKeys: {
    /** Ed25519 identity signing key. */
    readonly signingKey: string;
    /** X25519 identity key. */
    readonly dhKey: string;
    /** `sha256:` and the hex SHA-256 of the signing key. */
    readonly fingerprint: string;
    /** One-time pre-keys left. */
    readonly oneTimePreKeys: number;
    /** KEM pre-keys left. */
    readonly kemPreKeys: number;
  };
  /** What waits in its mailbox: counts and stored sizes only (content is end-to-end encrypted). */
  readonly mailbox: { readonly envelopes: number; readonly bytes: number };
  /** Its blob uploads as the usage ledger counts them. */
  readonly blobs: { readonly bytes: number; readonly count: number };
}

/**
 * The export document (`cloister/subject-export/v1`, spec/data-subject.md §2).
 *
 * @example
 * ```ts
 * const doc: SubjectExport = await admin.subjects.export('u-7f3a');
 * console.log(doc.user.displayName, doc.devices.length, doc.audit.records.length);
 * ```
 */
export interface SubjectExport {
  /** `cloister/subject-export/v1`. */
  readonly schema: string;
  /** When the server made it (ms). */
  readonly generatedAt: number;
  /** The tenant. */
  readonly tenant: string;
  /** The user record. */
  readonly user: {
    /** The user id. */
    readonly id: string;
    /** Display name. */
    readonly displayName: string;
    /** E-mail address, or null. */
    readonly email: string | null;
    /** The pools, with their names. */
    readonly pools: readonly { readonly id: string; readonly name: string | null }[];
    /** Administrative roles held as a user. */
    readonly roles: readonly string[];
    /** Whether the user is blocked. */
    readonly blocked: boolean;
    /** When the user was created (ms). */
    readonly createdAt: number;
    /** Whether their rows are sealed under their own key (erasable by crypto-shredding). */
    readonly personalDataSealed: boolean;
  };
  /** Their devices. */
  readonly devices: readonly SubjectDevice[];
  /** Their signed device lists: epoch, when stored, size, SHA-256. */
  readonly deviceLists: readonly {
    readonly epoch: number;
    readonly storedAt: number;
    readonly bytes: number;
    readonly sha256: string;
  }[];
  /** Enrolment invitations still open (expiry only; tokens are never shown again). */
  readonly invites: readonly { readonly expiresAt: number | null }[];
  /** Whether a user policy layer names them. */
  readonly policyLayer: boolean;
  /** The audit records that name them (target `user` or `user/<device>`), newest first. */
  readonly audit: {
    /** The records. */
    readonly records: readonly Record<string, unknown>[];
    /** Records read. */
    readonly scanned: number;
    /** Whether older records were left unread (the scan limit). */
    readonly truncated: boolean;
  };
  /** Statistics hold nothing personal. */
  readonly statistics: { readonly personal: false; readonly note: string };
  /** What the server cannot hold or read, in words. */
  readonly notes: readonly string[];
}

/**
 * The data-subject area of the admin SDK (`admin.subjects`).
 *
 * @example
 * ```ts
 * const doc = await admin.subjects.export('u-7f3a');
 * await admin.subjects.erase('u-7f3a');
 * ```
 */
export class SubjectsApi {
  readonly #caller: AdminCaller;

  /**
   * Built by `AdminClient` (`admin.subjects`).
   *
   * @example
   * ```ts
   * const subjects = admin.subjects; // a SubjectsApi
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * Everything the server holds about `user`, as one document (audited `subject.export`; needs a
   * fresh second factor).
   *
   * @example
   * ```ts
   * const doc = await admin.subjects.export('u-7f3a');
   * ```
   */
  export(user: string): Promise<SubjectExport> {
    return this.#caller.call('GET', `/admin/v1/users/${pathSegment(user)}/export`);
  }

  /**
   * Erases `user`: their rows go, and the key their personal rows are sealed under is destroyed,
   * so copies in earlier backups cannot be read (audited `user.delete`; needs a fresh second factor).
   *
   * @example
   * ```ts
   * await admin.subjects.erase('u-7f3a');
   * ```
   */
  async erase(user: string): Promise<void> {
    await this.#caller.call('DELETE', `/admin/v1/users/${pathSegment(user)}`);
  }
}
