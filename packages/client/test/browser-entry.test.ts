/**
 * The `@cloister/client/browser` entry must not reach Node's modules or the `ws` package through
 * any file of this package, neither by a static import nor by a dynamic `import()` (bundlers follow
 * both, so either breaks a browser bundle), while the main entry does use them. The browser entry's
 * `createClient` must default to the browser transport and the main entry's to the Node transport.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryAdapter } from '@cloister/storage';
import { describe, expect, it } from 'vitest';
import { createClient as createBrowserClient } from '../src/browser.js';
import { createClient as createNodeClient } from '../src/index.js';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
/**
 * `import … from 'x'`, `export … from 'x'`, `import 'x'` and `import('x')` (quotes of either
 * kind, template literals without substitutions too).
 */
const IMPORT =
  /(?:import|export)\s[^'"`;]*?from\s*['"`]([^'"`]+)['"`]|import\s*['"`]([^'"`]+)['"`]|import\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g;
/** An `import(` whose argument is not a plain string: its target cannot be checked. */
const COMPUTED_IMPORT = /import\s*\(\s*[^'"`\s]/;

/** Every bare specifier reached from the file `entry` through static and dynamic relative imports. */
function reach(entry: string): { bare: Set<string>; files: Set<string>; computed: string[] } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const computed: string[] = [];
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    // Comments may show imports in examples; they are not code.
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|(^|[^:])\/\/.*$/gm, '$1');
    if (COMPUTED_IMPORT.test(text)) computed.push(file);
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2] ?? m[3]) as string;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.add(spec);
    }
  };
  visit(entry);
  return { bare, files, computed };
}

const nodeOnly = (s: string) => s.startsWith('node:') || s === 'ws';

describe('entries', () => {
  it('the browser entry reaches no node: module and not ws, statically or dynamically', () => {
    const { bare, files, computed } = reach(join(SRC, 'browser.ts'));
    expect([...bare].filter(nodeOnly)).toEqual([]);
    expect([...files].map((f) => f.slice(SRC.length))).not.toContain('transport/node.ts');
    expect(computed).toEqual([]);
    expect(bare).toContain('@cloister/crypto');
  });

  it('the main entry does reach the Node transport (so the check above can fail)', () => {
    const { bare } = reach(join(SRC, 'index.ts'));
    expect(bare).toContain('ws');
    expect([...bare].some((s) => s.startsWith('node:'))).toBe(true);
  });

  it('follows dynamic imports (a lazy import of the Node transport is found)', () => {
    const { bare } = reach(fileURLToPath(new URL('./fixtures/lazy-node-transport.ts', import.meta.url)));
    expect(bare).toContain('ws');
    expect([...bare].some((s) => s.startsWith('node:'))).toBe(true);
  });
});

describe('default transports', () => {
  const server = { url: 'https://127.0.0.1:1', pin: `sha256/${'A'.repeat(43)}=` };

  it('the browser entry defaults to the browser transport', async () => {
    // Without a fetch the browser transport refuses to be created; the Node transport would not care.
    const saved = globalThis.fetch;
    (globalThis as { fetch?: unknown }).fetch = undefined;
    try {
      await expect(createBrowserClient({ server, storage: createMemoryAdapter() })).rejects.toMatchObject({
        code: 'ERR_VALIDATION',
        field: 'fetch',
      });
    } finally {
      globalThis.fetch = saved;
    }
    const client = await createBrowserClient({ server, storage: createMemoryAdapter() });
    expect(client.status).toBe('unenrolled');
    await client.close();
  });

  it('the Node entry defaults to the Node transport (no fetch needed)', async () => {
    const saved = globalThis.fetch;
    (globalThis as { fetch?: unknown }).fetch = undefined;
    try {
      const client = await createNodeClient({ server, storage: createMemoryAdapter() });
      expect(client.status).toBe('unenrolled');
      await client.close();
    } finally {
      globalThis.fetch = saved;
    }
  });

  it('an app transport wins over the default in both entries', async () => {
    let made = 0;
    const transport = () => {
      made++;
      return { request: () => Promise.reject(new Error('unused')), connect: () => ({}) as never };
    };
    const saved = globalThis.fetch;
    (globalThis as { fetch?: unknown }).fetch = undefined;
    try {
      await (await createBrowserClient({ server, storage: createMemoryAdapter(), transport })).close();
      await (await createNodeClient({ server, storage: createMemoryAdapter(), transport })).close();
    } finally {
      globalThis.fetch = saved;
    }
    expect(made).toBe(2);
  });
});
