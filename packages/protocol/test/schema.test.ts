/**
 * Checks the schemas themselves: no message is recursive, nesting stays within
 * MAX_NESTING_DEPTH, and every message, field and enum value in `spec/wire.md` matches the
 * `.proto` files (number, name, type, oneof).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const protoDir = join(here, '..', 'proto');
const specPath = join(here, '..', '..', '..', 'spec', 'wire.md');

function loadSchemas(): protobuf.Namespace {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(protoDir, target));
  const files = readdirSync(join(protoDir, 'cloister', 'v1')).map((f) => `cloister/v1/${f}`);
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root.lookup('cloister.v1') as protobuf.Namespace;
}

const ns = loadSchemas();
const types = ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
const enums = ns.nestedArray.filter((n): n is protobuf.Enum => n instanceof protobuf.Enum);

/** Levels of messages from `type` down, counting `type`; throws on recursion. */
function depth(type: protobuf.Type, stack: readonly string[] = []): number {
  if (stack.includes(type.name)) throw new Error(`recursive message: ${[...stack, type.name].join(' > ')}`);
  let deepest = 0;
  for (const field of type.fieldsArray) {
    if (field.resolvedType instanceof protobuf.Type) {
      deepest = Math.max(deepest, depth(field.resolvedType, [...stack, type.name]));
    }
  }
  return 1 + deepest;
}

function isProto3Optional(field: protobuf.Field): boolean {
  return field.options?.proto3_optional === true;
}

function fieldType(field: protobuf.Field): string {
  if (field.repeated) return `repeated ${field.type}`;
  if (isProto3Optional(field)) return `optional ${field.type}`;
  return field.type;
}

interface SpecRow {
  readonly number: number;
  readonly name: string;
  readonly type: string;
  readonly presence: string;
}

/** Section title (`Content`, `enum Suite`) to its table rows. */
function specTables(): Map<string, SpecRow[]> {
  const tables = new Map<string, SpecRow[]>();
  let current: SpecRow[] | undefined;
  for (const line of readFileSync(specPath, 'utf8').split('\n')) {
    const heading = /^### (.+)$/.exec(line);
    if (heading) {
      current = [];
      tables.set(heading[1]!, current);
      continue;
    }
    if (line.startsWith('## ')) current = undefined;
    const cells = line.split('|').map((c) => c.trim());
    if (current && /^\d+$/.test(cells[1] ?? '')) {
      current.push({
        number: Number(cells[1]),
        name: (cells[2] ?? '').replaceAll('`', ''),
        type: (cells[3] ?? '').replaceAll('`', ''),
        presence: (cells[4] ?? '').replaceAll('`', ''),
      });
    }
  }
  return tables;
}

describe('schemas', () => {
  it('are not recursive and nest at most MAX_NESTING_DEPTH levels', () => {
    const deepest = Math.max(...types.map((t) => depth(t)));
    expect(deepest).toBe(MAX_NESTING_DEPTH);
  });

  it('keep enum value 0 for UNSPECIFIED', () => {
    for (const e of enums) expect(e.valuesById[0], e.name).toMatch(/_UNSPECIFIED$/);
  });
});

describe('spec/wire.md matches the .proto files', () => {
  const tables = specTables();

  it('has one section per message and enum, and no other', () => {
    const expected = [...types.map((t) => t.name), ...enums.map((e) => `enum ${e.name}`)].sort();
    expect([...tables.keys()].sort()).toEqual(expected);
  });

  it.each(types.map((t) => [t.name, t] as const))('message %s', (name, type) => {
    const rows = tables.get(name) ?? [];
    const fromProto = type.fieldsArray.map((f) => ({
      number: f.id,
      name: f.name,
      type: fieldType(f),
      oneof: f.partOf && !isProto3Optional(f) ? `oneof ${f.partOf.name}` : undefined,
    }));
    const fromSpec = rows.map((r) => ({
      number: r.number,
      name: r.name,
      type: r.type,
      oneof: r.presence.startsWith('oneof') ? r.presence : undefined,
    }));
    expect(fromSpec).toEqual(fromProto);
  });

  it.each(enums.map((e) => [e.name, e] as const))('enum %s', (name, e) => {
    const rows = tables.get(`enum ${name}`) ?? [];
    expect(rows.map((r) => [r.number, r.name])).toEqual(Object.entries(e.values).map(([k, v]) => [v, k]));
  });
});
