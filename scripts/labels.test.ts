import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Labels in code lines (TSDoc examples, lines starting with `*`, may show made-up labels). */
function labelsInCode(): Set<string> {
  const found = new Set<string>();
  for (const pkg of readdirSync(join(ROOT, 'packages'))) {
    for (const file of sources(join(ROOT, 'packages', pkg, 'src'))) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line.trimStart().startsWith('*')) continue;
        for (const m of line.matchAll(/'(cloister\/[a-z0-9/_.-]+)'/g)) found.add(m[1]!);
      }
    }
  }
  return found;
}

const rows = [
  ...readFileSync(join(ROOT, 'spec/labels.md'), 'utf8').matchAll(/\| `(cloister\/[^`]+)` \| `([0-9a-f]+)`/g),
].map((m) => ({ label: m[1]!, hex: m[2]! }));

describe('spec/labels.md', () => {
  const code = labelsInCode();
  const spec = new Set(rows.map((r) => r.label));

  it('gives the right hex for every label', () => {
    expect(rows.length).toBeGreaterThan(10);
    for (const { label, hex } of rows) expect(Buffer.from(label, 'ascii').toString('hex'), label).toBe(hex);
  });

  it('lists every label the code uses', () => {
    expect(code.size).toBeGreaterThan(10);
    for (const label of code) expect(spec.has(label), `${label} missing from spec/labels.md`).toBe(true);
  });

  it('lists no label the code no longer uses', () => {
    for (const label of spec) expect(code.has(label), `${label} not used in code`).toBe(true);
  });
});
