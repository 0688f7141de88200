/**
 * The audit log's verification as the portal shows it: the server's recomputation of the hash
 * chain (`verifyAudit`) and the log's signed checkpoint, whose signature is checked **in the
 * browser** with `verifyCheckpoint` under the log's verifier key. No I/O beyond the three calls of
 * the `AuditSource` it is given; every outcome is a value (the screen words it), never a throw.
 *
 * @module
 */
import { type AuditVerification, parseVerifierKey, verifyCheckpoint } from '@cloister/admin';

/** The calls the check makes (an `AdminClient` fits). */
export interface AuditSource {
  verifyAudit(): Promise<AuditVerification>;
  readonly audit: {
    checkpoint(): Promise<string>;
    logKey(): Promise<{ readonly origin: string; readonly verifierKey: string }>;
  };
}

/** What the chain check found. */
export type ChainStatus =
  | { readonly kind: 'ok'; readonly count: number; readonly head: string }
  | { readonly kind: 'broken'; readonly firstBadSeq: number }
  | { readonly kind: 'error'; readonly error: unknown };

/** What the checkpoint check found. */
export type CheckpointStatus =
  | {
      readonly kind: 'ok';
      readonly size: number;
      /** The key name that signed (the log's origin). */
      readonly signer: string;
      /** The key ID, 8 hex digits. */
      readonly keyId: string;
    }
  /** The note is malformed, signed by another key, or for another log. */
  | { readonly kind: 'bad'; readonly reason: 'signature' | 'format' | 'origin' }
  /** The server refused to sign (409: chain broken or history rewritten). */
  | { readonly kind: 'conflict' }
  | { readonly kind: 'error'; readonly error: unknown };

/** The whole verification. */
export interface AuditCheck {
  readonly chain: ChainStatus;
  readonly checkpoint: CheckpointStatus;
  /** The verifier key the server states, for the person to compare with the pinned one. */
  readonly verifierKey: string | undefined;
  /** Both the chain and the checkpoint verified. */
  readonly verified: boolean;
}

const codeOf = (e: unknown): unknown =>
  typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;

/** Runs both checks (concurrently) and reports them. */
export async function checkAuditLog(source: AuditSource): Promise<AuditCheck> {
  const chainRun = source.verifyAudit().then(
    (v): ChainStatus =>
      v.ok ? { kind: 'ok', count: v.count, head: v.head } : { kind: 'broken', firstBadSeq: v.firstBadSeq },
    (error: unknown): ChainStatus => ({ kind: 'error', error }),
  );
  let verifierKey: string | undefined;
  const checkpointRun = (async (): Promise<CheckpointStatus> => {
    let key: string;
    let note: string;
    try {
      [{ verifierKey: key }, note] = await Promise.all([source.audit.logKey(), source.audit.checkpoint()]);
    } catch (error) {
      return codeOf(error) === 'ERR_CONFLICT' ? { kind: 'conflict' } : { kind: 'error', error };
    }
    verifierKey = key;
    try {
      const checked = await verifyCheckpoint(note, key);
      const parsed = parseVerifierKey(key);
      const keyId = [...parsed.keyId].map((b) => b.toString(16).padStart(2, '0')).join('');
      return { kind: 'ok', size: checked.size, signer: parsed.name, keyId };
    } catch (error) {
      if (codeOf(error) === 'ERR_INVALID_KEY') {
        const field = (error as { field?: unknown }).field;
        return { kind: 'bad', reason: field === 'checkpoint.origin' ? 'origin' : 'signature' };
      }
      if (codeOf(error) === 'ERR_DECODE' || codeOf(error) === 'ERR_VALIDATION') {
        return { kind: 'bad', reason: 'format' };
      }
      return { kind: 'error', error };
    }
  })();
  const [chain, checkpoint] = await Promise.all([chainRun, checkpointRun]);
  return { chain, checkpoint, verifierKey, verified: chain.kind === 'ok' && checkpoint.kind === 'ok' };
}

/** A record's `details` as the field list shows them (bytes stay their base64url text). */
export function detailFields(details: unknown): Record<string, unknown> {
  return typeof details === 'object' && details !== null && !Array.isArray(details)
    ? (details as Record<string, unknown>)
    : {};
}
