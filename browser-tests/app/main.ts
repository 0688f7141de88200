/**
 * The test page: the client SDK as a web app uses it (`@cloister/client/browser` with its default
 * browser transport, `@cloister/storage/indexeddb`), against the server the page was served from.
 * The test drives it through `window.cloisterPage` ({@link PageApi}).
 *
 * @module
 */
import {
  type ClientMessage,
  type CloisterClient,
  createClient,
  directConversationId,
} from '@cloister/client/browser';
import { CloisterError, WrongPin } from '@cloister/crypto';
import type { FileReference } from '@cloister/protocol';
import { createIndexedDbAdapter } from '@cloister/storage/indexeddb';
import {
  PAGE_GLOBAL,
  type PageApi,
  type PageError,
  type PageIndexedDbDump,
  type PageMessage,
} from './page-api.js';

/** The IndexedDB database the client keeps its data in. */
const DATABASE = 'cloister-page';

let client: CloisterClient | undefined;
const received: ClientMessage[] = [];
const waiters = new Set<() => void>();

function show(status: string): void {
  const out = document.getElementById('status');
  if (out !== null) out.textContent = status;
}

function current(): CloisterClient {
  if (client === undefined) throw new Error('the page has no client: call open() first');
  return client;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function summary(m: ClientMessage): PageMessage {
  const body = m.content.body;
  const base = { id: m.id, from: m.from.userId, outgoing: m.outgoing, kind: body.type };
  if (body.type === 'text') return { ...base, text: body.text };
  if (body.type === 'file') {
    return {
      ...base,
      size: body.file.size,
      ...(body.file.fileName === undefined ? {} : { fileName: body.file.fileName }),
    };
  }
  return base;
}

function errorOf(error: unknown): PageError {
  if (error instanceof Error) {
    return {
      name: error.name,
      code: error instanceof CloisterError ? error.code : null,
      message: error.message,
    };
  }
  return { name: typeof error, code: null, message: String(error) };
}

function matches(m: ClientMessage, match: { readonly text?: string; readonly fileName?: string }): boolean {
  const body = m.content.body;
  if (match.text !== undefined) return body.type === 'text' && body.text === match.text;
  if (match.fileName !== undefined) return body.type === 'file' && body.file.fileName === match.fileName;
  return false;
}

function fileOf(id: string): FileReference {
  const message = received.find((m) => m.id === id);
  if (message === undefined) throw new Error(`no received message ${id}`);
  if (message.content.body.type !== 'file') throw new Error(`message ${id} is not a file message`);
  return message.content.body.file;
}

/** Every value of an IDB request, or its error. */
function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function openRaw(name: string, create?: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = create === undefined ? indexedDB.open(name) : indexedDB.open(name, 1);
    req.onupgradeneeded = () => create?.(req.result);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error(`cannot open ${name}`));
    req.onblocked = () => reject(new Error(`opening ${name} is blocked`));
  });
}

/** Collects every string and every binary in `value`, at any depth. */
async function collect(value: unknown, strings: string[], binaries: string[]): Promise<void> {
  if (typeof value === 'string') {
    strings.push(value);
  } else if (value instanceof ArrayBuffer) {
    binaries.push(toBase64(new Uint8Array(value)));
  } else if (ArrayBuffer.isView(value)) {
    binaries.push(toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)));
  } else if (value instanceof Blob) {
    binaries.push(toBase64(new Uint8Array(await value.arrayBuffer())));
  } else if (Array.isArray(value) || value instanceof Set) {
    for (const item of value) await collect(item, strings, binaries);
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      await collect(k, strings, binaries);
      await collect(v, strings, binaries);
    }
  } else if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    for (const [k, v] of Object.entries(value)) {
      strings.push(k);
      await collect(v, strings, binaries);
    }
  }
}

const api: PageApi = {
  async open(serverPin) {
    const storage = await createIndexedDbAdapter({ name: DATABASE });
    client = await createClient({ server: { url: location.origin, pin: serverPin }, storage });
    client.on('message', (e) => {
      received.push(e.message);
      for (const wake of waiters) wake();
    });
    show(client.status);
    return client.status;
  },

  async enroll(code, pin) {
    const c = current();
    const { userId, deviceId } = await c.enroll(code, { pin });
    await c.start();
    show(`${c.status} as ${userId}/${deviceId}`);
    return { userId, deviceId };
  },

  async unlock(pin) {
    const c = current();
    try {
      await c.unlock(pin);
    } catch (error) {
      show(`${c.status} (unlock refused)`);
      return { ok: false, status: c.status, wrongPin: error instanceof WrongPin, error: errorOf(error) };
    }
    await c.start();
    show(c.status);
    return { ok: true, status: c.status };
  },

  async sendText(user, text) {
    return summary(await current().sendText({ user }, text));
  },

  async sendFile(user, bytesBase64, name) {
    const data = fromBase64(bytesBase64);
    const sent = await current().sendFile({ user }, { data, name, mediaType: 'application/octet-stream' });
    return summary(sent);
  },

  async flush() {
    await current().flush();
  },

  waitForMessage(match, timeoutMs) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = received.find((m) => matches(m, match));
        if (found === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(summary(found));
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no message matching ${JSON.stringify(match)} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  },

  async downloadAndCompare(id, expectedBase64) {
    const bytes = await current().downloadFile(fileOf(id));
    const expected = fromBase64(expectedBase64);
    const equal = bytes.length === expected.length && bytes.every((b, i) => b === expected[i]);
    return { size: bytes.length, equal };
  },

  async history(user) {
    const items: ClientMessage[] = [];
    let page = await current().history(directConversationId(user), { limit: 100 });
    items.push(...page.items);
    while (page.next !== undefined) {
      page = await current().history(directConversationId(user), { limit: 100, cursor: page.next });
      items.push(...page.items);
    }
    return items.reverse().map(summary);
  },

  async close() {
    await client?.close();
    client = undefined;
    show('closed');
  },

  async writeCanary(name, text, bytesBase64) {
    const db = await openRaw(name, (d) => d.createObjectStore('rows'));
    const tx = db.transaction('rows', 'readwrite');
    tx.objectStore('rows').put({ text, bytes: fromBase64(bytesBase64) }, 'canary');
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('canary write failed'));
    });
    db.close();
  },

  async dumpIndexedDb() {
    const strings: string[] = [];
    const binaries: string[] = [];
    const databases: {
      name: string;
      version: number;
      stores: { name: string; records: number }[];
    }[] = [];
    for (const info of await indexedDB.databases()) {
      if (info.name === undefined) continue;
      const db = await openRaw(info.name);
      const stores: { name: string; records: number }[] = [];
      for (const storeName of Array.from(db.objectStoreNames)) {
        const store = db.transaction(storeName, 'readonly').objectStore(storeName);
        const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
        await collect(keys, strings, binaries);
        await collect(values, strings, binaries);
        stores.push({ name: storeName, records: values.length });
      }
      databases.push({ name: info.name, version: db.version, stores });
      db.close();
    }
    return { databases, strings, binaries } satisfies PageIndexedDbDump;
  },
};

window[PAGE_GLOBAL] = api;
show('ready to open');
