/**
 * Typed client settings: each setting is declared once with its name and how to check its
 * value, and read back as that type.
 *
 * @module
 */
import { DecodeError, ValidationError } from '@cloister/crypto';
import type { Executor, RecordValue } from '@cloister/storage';
import { decodeObject, EMPTY, encode, utf8Bytes } from './_util.js';
import { CLIENT_TABLES } from './tables.js';

/**
 * A declared setting: its key and a check that returns the value as `T` or throws. The check
 * runs on every write (a failure is a `ValidationError`) and every read (a `DecodeError`).
 *
 * @example
 * ```ts
 * const fontSize: Setting<number> = defineSetting('ui.font-size', 'number');
 * await stores.settings.set(fontSize, 14);
 * ```
 */
export interface Setting<T extends RecordValue> {
  /** The setting's key: 1..64 characters of `a-z 0-9 . _ -`, starting with a letter. */
  readonly key: string;
  /** Returns the value as `T`, or throws when it is not a valid value of this setting. */
  readonly check: (value: unknown) => T;
}

/**
 * The built-in value types of {@link defineSetting}.
 *
 * @example
 * ```ts
 * const type: SettingType = 'boolean';
 * const notifications = defineSetting('ui.notifications', type);
 * ```
 */
export type SettingType = 'string' | 'number' | 'boolean' | 'bytes';

/**
 * Maps a {@link SettingType} to its TypeScript type.
 *
 * @example
 * ```ts
 * const size: SettingValue<'number'> = 14;
 * const avatar: SettingValue<'bytes'> = new Uint8Array(0);
 * ```
 */
export type SettingValue<K extends SettingType> = K extends 'string'
  ? string
  : K extends 'number'
    ? number
    : K extends 'boolean'
      ? boolean
      : Uint8Array;

/** Setting keys: 1..64 of `a-z 0-9 . _ -`, starting with a letter. */
const KEY_PATTERN = /^[a-z][a-z0-9._-]{0,63}$/;

/**
 * Declares a setting of a built-in type, or with a custom check (which throws to refuse a
 * value). A key that is not 1..64 characters of `a-z 0-9 . _ -` starting with a letter, or an
 * unknown type, is a `ValidationError`.
 *
 * @example
 * ```ts
 * const theme = defineSetting('ui.theme', 'string');
 * const retention = defineSetting('retention', (v) => {
 *   if (v !== 'short' && v !== 'long') throw new Error('bad');
 *   return v;
 * });
 * await stores.settings.set(theme, 'dark');
 * ```
 */
export function defineSetting<K extends SettingType>(key: string, type: K): Setting<SettingValue<K>>;
export function defineSetting<T extends RecordValue>(key: string, check: (value: unknown) => T): Setting<T>;
export function defineSetting(key: string, typeOrCheck: SettingType | ((value: unknown) => RecordValue)) {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new ValidationError(
      'key',
      'a setting key of 1..64 characters a-z 0-9 . _ - starting with a letter',
    );
  }
  let check: (value: unknown) => RecordValue;
  if (typeof typeOrCheck === 'function') check = typeOrCheck;
  else if (typeOrCheck === 'string' || typeOrCheck === 'number' || typeOrCheck === 'boolean') {
    check = (v) => {
      if (typeof v !== typeOrCheck || (typeof v === 'number' && !Number.isFinite(v)))
        throw new Error('wrong type');
      return v as RecordValue;
    };
  } else if (typeOrCheck === 'bytes') {
    check = (v) => {
      if (!(v instanceof Uint8Array)) throw new Error('wrong type');
      return v;
    };
  } else throw new ValidationError('type', "'string', 'number', 'boolean', 'bytes' or a check function");
  return { key, check };
}

/**
 * Typed key/value settings.
 *
 * @example
 * ```ts
 * const theme = defineSetting('ui.theme', 'string');
 * await stores.settings.set(theme, 'dark');
 * const value = await stores.settings.get(theme); // 'dark'
 * ```
 */
export interface SettingsStore {
  /**
   * The stored value of the setting, or `undefined` when it is not set; a stored value that
   * fails the setting's check rejects with `DecodeError`.
   *
   * @example
   * ```ts
   * const theme = (await stores.settings.get(defineSetting('ui.theme', 'string'))) ?? 'light';
   * ```
   */
  get<T extends RecordValue>(setting: Setting<T>): Promise<T | undefined>;
  /**
   * Stores the value (replacing the previous one); a value that fails the setting's check is a
   * `ValidationError` and nothing is written.
   *
   * @example
   * ```ts
   * await stores.settings.set(defineSetting('ui.theme', 'string'), 'dark');
   * ```
   */
  set<T extends RecordValue>(setting: Setting<T>, value: T): Promise<void>;
  /**
   * Deletes the setting's value; resolves `true` when one was stored.
   *
   * @example
   * ```ts
   * const removed = await stores.settings.delete(defineSetting('ui.theme', 'string')); // get() then resolves undefined
   * ```
   */
  delete(setting: Setting<RecordValue>): Promise<boolean>;
}

const TABLE = CLIENT_TABLES.settings;
const PATH = 'c_settings';
const VERSION = 1;

function checkSetting(setting: unknown): Setting<RecordValue> {
  const s = setting as Setting<RecordValue> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.key !== 'string' ||
    !KEY_PATTERN.test(s.key) ||
    typeof s.check !== 'function'
  ) {
    throw new ValidationError('setting', 'a setting from defineSetting');
  }
  return s;
}

/**
 * Creates the settings store over an executor (see {@link createClientStores}).
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const settings = createSettingsStore(adapterExecutor(adapter));
 * ```
 */
export function createSettingsStore(run: Executor): SettingsStore {
  return {
    async get<T extends RecordValue>(setting: Setting<T>) {
      const s = checkSetting(setting);
      const row = await run((tx) => tx.get(TABLE, utf8Bytes(s.key), EMPTY), { readOnly: true });
      if (row === undefined) return undefined;
      const d = decodeObject(row.value, PATH, VERSION);
      if (d.key !== s.key) throw new DecodeError(`${PATH}.key`, 'does not match its row');
      try {
        return setting.check(d.value);
      } catch {
        throw new DecodeError(`${PATH}.value`, 'does not pass the setting check');
      }
    },
    async set<T extends RecordValue>(setting: Setting<T>, value: T) {
      const s = checkSetting(setting);
      let checked: RecordValue;
      try {
        checked = s.check(value);
      } catch {
        throw new ValidationError('value', 'a value that passes the setting check');
      }
      let bytes: Uint8Array;
      try {
        bytes = encode(VERSION, { key: s.key, value: checked });
      } catch {
        throw new ValidationError('value', 'a value the record codec can store');
      }
      await run(async (tx) => {
        await tx.put(TABLE, { partition: utf8Bytes(s.key), sort: EMPTY, value: bytes });
      });
    },
    async delete(setting) {
      const s = checkSetting(setting);
      return run((tx) => tx.delete(TABLE, utf8Bytes(s.key), EMPTY));
    },
  };
}
