/**
 * The `@cloister/client/browser` entry must not reach Node's modules or the `ws` package through
 * any file of this package (a browser bundle would break), while the main entry does use them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const IMPORT = /(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

/** Every bare specifier reached from `entry` through static imports of this package's files. */
function reach(entry: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      // Dynamic imports are loaded only when called; the browser entry never calls them.
      if (m[2] !== undefined) continue;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.add(spec);
    }
  };
  visit(join(SRC, entry));
  return bare;
}

describe('entries', () => {
  it('the browser entry reaches no node: module and not ws', () => {
    const bare = [...reach('browser.ts')];
    expect(bare.filter((s) => s.startsWith('node:') || s === 'ws')).toEqual([]);
    expect(bare).toContain('@cloister/crypto');
  });

  it('the main entry does reach the Node transport (so the check above can fail)', () => {
    const bare = [...reach('index.ts')];
    expect(bare).toContain('ws');
    expect(bare.some((s) => s.startsWith('node:'))).toBe(true);
  });
});
