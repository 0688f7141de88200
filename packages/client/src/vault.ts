/**
 * The vault: the only rows outside the encryption at rest (`c_vault` in the raw adapter). It holds
 * the PIN-wrapped data key, the count of wrong PINs in a row, and the wipe marker. Opening the
 * data key with a PIN, counting wrong ones (and destroying the key after too many), changing the
 * PIN and recording a wipe all happen here.
 *
 * @module
 */
import {
  decodeWrappedKey,
  encodeWrappedKey,
  changePin as rewrapPin,
  UsageError,
  unwrapDataKey,
  type WrappedKeyRecord,
  WrongPin,
} from '@cloister/crypto';
import type { ClientContext } from './context.js';
import { NotEnrolledError } from './errors.js';
import {
  CLIENT_LOCAL_TABLES,
  deleteRecord,
  field,
  getRecord,
  isBytes,
  isNumber,
  isString,
  putRecord,
} from './local.js';
import { type ClientStatus, checkNewPin, DEFAULT_MIN_PIN_LENGTH, type WipeStatus } from './options.js';

const VAULT = CLIENT_LOCAL_TABLES.vault;
const PATH = 'c_vault';
const KEY = 'data-key';
const WIPED = 'wiped';
const ATTEMPTS = 'pin-attempts';

/** The status the vault shows: `wiped` with a wipe marker, `locked` with a wrapped key, else `unenrolled`. */
export async function vaultStatus(ctx: ClientContext): Promise<ClientStatus> {
  const [key, wiped] = await ctx.vault((tx) =>
    Promise.all([getRecord(tx, VAULT, KEY, PATH), getRecord(tx, VAULT, WIPED, PATH)]),
  );
  return wiped !== undefined ? 'wiped' : key !== undefined ? 'locked' : 'unenrolled';
}

/** Stores the wrapped data key; from then on the client is enrolled. */
export async function storeWrappedKey(ctx: ClientContext, record: WrappedKeyRecord): Promise<void> {
  await ctx.vault((tx) => putRecord(tx, VAULT, KEY, { wrapped: encodeWrappedKey(record) }));
}

/**
 * Opens the data key with `pin`. A wrong PIN is `WrongPin` and counts; after `maxPinAttempts`
 * wrong PINs in a row the key is destroyed and the client is `wiped`. A right PIN resets the count.
 */
export async function openDataKey(ctx: ClientContext, pin: string): Promise<Uint8Array> {
  const vault = await ctx.vault((tx) => getRecord(tx, VAULT, KEY, PATH));
  if (vault === undefined) throw new NotEnrolledError();
  const record = decodeWrappedKey(field(vault, 'wrapped', PATH, isBytes));
  let dataKey: Uint8Array;
  try {
    dataKey = await unwrapDataKey(ctx.provider, record, pin);
  } catch (e) {
    if (e instanceof WrongPin) await countWrongPin(ctx);
    throw e;
  }
  await ctx.vault((tx) => deleteRecord(tx, VAULT, ATTEMPTS));
  return dataKey;
}

async function countWrongPin(ctx: ClientContext): Promise<void> {
  const max = ctx.options.maxPinAttempts ?? 10;
  const attempts = await ctx.vault(async (tx) => {
    const d = await getRecord(tx, VAULT, ATTEMPTS, PATH, { forUpdate: true });
    const n = (isNumber(d?.n) ? d.n : 0) + 1;
    await putRecord(tx, VAULT, ATTEMPTS, { n });
    return n;
  });
  if (attempts >= max) {
    await markWiped(ctx, { commandId: 'pin-attempts', wipedAt: ctx.now(), reported: false });
    ctx.status = 'wiped';
  }
}

/**
 * Re-wraps the data key under a new PIN (the data is not re-encrypted). A new PIN shorter than
 * `minPinLength` is `ValidationError` before anything is read or written.
 */
export async function changePin(ctx: ClientContext, oldPin: string, newPin: string): Promise<void> {
  if (ctx.status === 'unenrolled') throw new NotEnrolledError();
  if (ctx.status !== 'ready' && ctx.status !== 'locked') {
    throw new UsageError(`cannot change the PIN: the client is ${ctx.status}`);
  }
  checkNewPin(newPin, ctx.options.minPinLength ?? DEFAULT_MIN_PIN_LENGTH, 'newPin');
  await ctx.vault(async (tx) => {
    const d = await getRecord(tx, VAULT, KEY, PATH, { forUpdate: true });
    if (d === undefined) throw new NotEnrolledError();
    const record = decodeWrappedKey(field(d, 'wrapped', PATH, isBytes));
    const next = await rewrapPin(ctx.provider, record, oldPin, newPin, ctx.options.pinWrap);
    await putRecord(tx, VAULT, KEY, { wrapped: encodeWrappedKey(next) });
  });
}

/**
 * Destroys the data key and leaves the wipe marker, in one transaction: from then on nothing
 * stored can be decrypted. `report` is the signed wipe report while it is not yet delivered.
 */
export async function markWiped(
  ctx: ClientContext,
  marker: {
    readonly commandId: string;
    readonly wipedAt: number;
    readonly report?: Uint8Array;
    readonly reported: boolean;
  },
): Promise<void> {
  await ctx.vault(async (tx) => {
    await deleteRecord(tx, VAULT, KEY);
    await putRecord(tx, VAULT, WIPED, {
      commandId: marker.commandId,
      wipedAt: marker.wipedAt,
      ...(marker.report === undefined ? {} : { report: marker.report }),
      reported: marker.reported,
    });
  });
}

/** Records that the server has the wipe report (and forgets the report). */
export async function markWipeReported(
  ctx: ClientContext,
  commandId: string,
  wipedAt: number,
): Promise<void> {
  await ctx.vault((tx) => putRecord(tx, VAULT, WIPED, { commandId, wipedAt, reported: true }));
}

/** Whether (and when) this client was wiped, and whether the server has the report. */
export async function wipeStatus(ctx: ClientContext): Promise<WipeStatus> {
  const d = await ctx.vault((tx) => getRecord(tx, VAULT, WIPED, PATH));
  if (d === undefined) return { wiped: false };
  return {
    wiped: true,
    commandId: field(d, 'commandId', PATH, isString),
    wipedAt: field(d, 'wipedAt', PATH, isNumber),
    reported: d.reported === true,
  };
}
