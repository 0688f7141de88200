/**
 * SCIM filters (RFC 7644 §3.4.2.2), parsed with `scim2-parse-filter` and evaluated here over the
 * attributes this server supports (`spec/directory.md` §2): `userName`, `externalId`,
 * `displayName`, `emails.value` (also as `emails[value …]`), `active`, `id`, `meta.lastModified`
 * (Users); `displayName`, `externalId`, `id`, `meta.lastModified` (Groups). Operators `eq`, `ne`,
 * `co`, `sw`, `ew`, `pr`, `gt`/`ge`/`lt`/`le` (dates only), `and`, `or`, `not`, grouping. Anything
 * else is 400 `invalidFilter` (the detail never repeats the filter). `userName`, `displayName` and
 * e-mail compare case-insensitively (RFC 7643 `caseExact: false`); `id` and `externalId` exactly.
 * {@link indexHint} finds an `externalId eq` or `userName eq` term that every match must satisfy,
 * so that the caller reads candidates from an index instead of every page.
 *
 * @module
 */
import { type Filter, parse } from 'scim2-parse-filter';
import { ScimError } from './errors.js';

/**
 * The SCIM attributes a filter may name, for one resource type.
 *
 * @example
 * ```ts
 * const kind: FilterTarget = 'User';
 * ```
 */
export type FilterTarget = 'User' | 'Group';

/**
 * A resource as the filter sees it: each supported attribute path (lower-case) and its values.
 *
 * @example
 * ```ts
 * const r: FilterSubject = { username: ['alice@acme.example'], active: [true], 'meta.lastmodified': [Date.now()] };
 * ```
 */
export type FilterSubject = Readonly<Record<string, readonly (string | number | boolean)[]>>;

type Kind = 'ci' | 'cs' | 'bool' | 'date';

const USER_ATTRS: Readonly<Record<string, Kind>> = {
  username: 'ci',
  externalid: 'cs',
  displayname: 'ci',
  'emails.value': 'ci',
  active: 'bool',
  id: 'cs',
  'meta.lastmodified': 'date',
};
const GROUP_ATTRS: Readonly<Record<string, Kind>> = {
  displayname: 'ci',
  externalid: 'cs',
  id: 'cs',
  'meta.lastmodified': 'date',
};

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:user:';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:group:';

/** Longest filter accepted, in characters. */
const MAX_FILTER = 4096;

const invalid = (): never => {
  throw new ScimError(400, 'invalidFilter', 'the filter is not valid or not supported');
};

function attrOf(path: string, target: FilterTarget): { name: string; kind: Kind } {
  let name = path.toLowerCase();
  const prefix = target === 'User' ? CORE_USER : CORE_GROUP;
  if (name.startsWith(prefix)) name = name.slice(prefix.length);
  const kind = (target === 'User' ? USER_ATTRS : GROUP_ATTRS)[name];
  if (kind === undefined) return invalid();
  return { name, kind };
}

/**
 * A filter checked against the supported attributes and operators.
 *
 * @example
 * ```ts
 * const f = parseScimFilter('userName eq "alice@acme.example"', 'User');
 * const hit = matchesScimFilter(f, { username: ['Alice@acme.example'] }); // true
 * ```
 */
export interface ScimFilter {
  /** The checked syntax tree. */
  readonly ast: Filter;
  /** The resource type it applies to. */
  readonly target: FilterTarget;
}

function check(f: Filter, target: FilterTarget, depth: number): Filter {
  if (depth > 32) return invalid();
  switch (f.op) {
    case 'and':
    case 'or': {
      const filters = (f as { filters: Filter[] }).filters;
      return { op: f.op, filters: filters.map((x) => check(x, target, depth + 1)) } as Filter;
    }
    case 'not':
      return { op: 'not', filter: check((f as { filter: Filter }).filter, target, depth + 1) } as Filter;
    case '[]': {
      const vp = f as { attrPath: string; valFilter: Filter };
      const base = vp.attrPath.toLowerCase().replace(CORE_USER, '');
      if (target !== 'User' || base !== 'emails') return invalid();
      // emails[value op x] is emails.value op x.
      const rewrite = (g: Filter): Filter => {
        if (g.op === 'and' || g.op === 'or')
          return { op: g.op, filters: (g as { filters: Filter[] }).filters.map(rewrite) } as Filter;
        if (g.op === 'not') return { op: 'not', filter: rewrite((g as { filter: Filter }).filter) } as Filter;
        if (g.op === '[]') return invalid();
        const a = g as { attrPath: string };
        if (a.attrPath.toLowerCase() !== 'value') return invalid();
        return { ...g, attrPath: 'emails.value' } as Filter;
      };
      return check(rewrite(vp.valFilter), target, depth + 1);
    }
    case 'pr': {
      const a = attrOf((f as { attrPath: string }).attrPath, target);
      return { op: 'pr', attrPath: a.name } as Filter;
    }
    case 'eq':
    case 'ne':
    case 'co':
    case 'sw':
    case 'ew':
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le': {
      const c = f as { attrPath: string; compValue: unknown };
      const a = attrOf(c.attrPath, target);
      const v = c.compValue;
      if (a.kind === 'bool') {
        if ((f.op !== 'eq' && f.op !== 'ne') || typeof v !== 'boolean') return invalid();
      } else if (a.kind === 'date') {
        if (
          typeof v !== 'string' ||
          Number.isNaN(Date.parse(v)) ||
          f.op === 'co' ||
          f.op === 'sw' ||
          f.op === 'ew'
        )
          return invalid();
      } else {
        if (typeof v !== 'string' || ['gt', 'ge', 'lt', 'le'].includes(f.op)) return invalid();
      }
      return { op: f.op, attrPath: a.name, compValue: v } as Filter;
    }
    default:
      return invalid();
  }
}

/**
 * Parses and checks a filter; 400 `invalidFilter` for a syntax error, an unsupported attribute or
 * operator, or a value of the wrong type.
 *
 * @example
 * ```ts
 * const f = parseScimFilter('externalId eq "00u1" and active eq true', 'User');
 * ```
 */
export function parseScimFilter(text: string, target: FilterTarget): ScimFilter {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_FILTER) return invalid();
  let ast: Filter;
  try {
    ast = parse(text);
  } catch {
    return invalid();
  }
  return { ast: check(ast, target, 0), target };
}

function kindOf(name: string, target: FilterTarget): Kind {
  return ((target === 'User' ? USER_ATTRS : GROUP_ATTRS)[name] ?? 'cs') as Kind;
}

function compare(op: string, kind: Kind, value: string | number | boolean, wanted: unknown): boolean {
  if (kind === 'bool') return op === 'eq' ? value === wanted : value !== wanted;
  if (kind === 'date') {
    const a = value as number;
    const b = Date.parse(wanted as string);
    switch (op) {
      case 'eq':
        return a === b;
      case 'ne':
        return a !== b;
      case 'gt':
        return a > b;
      case 'ge':
        return a >= b;
      case 'lt':
        return a < b;
      default:
        return a <= b;
    }
  }
  const norm = (s: string) => (kind === 'ci' ? s.toLowerCase() : s);
  const a = norm(String(value));
  const b = norm(wanted as string);
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'co':
      return a.includes(b);
    case 'sw':
      return a.startsWith(b);
    default:
      return a.endsWith(b);
  }
}

function evaluate(f: Filter, r: FilterSubject, target: FilterTarget): boolean {
  switch (f.op) {
    case 'and':
      return (f as { filters: Filter[] }).filters.every((x) => evaluate(x, r, target));
    case 'or':
      return (f as { filters: Filter[] }).filters.some((x) => evaluate(x, r, target));
    case 'not':
      return !evaluate((f as { filter: Filter }).filter, r, target);
    case 'pr': {
      const values = r[(f as { attrPath: string }).attrPath] ?? [];
      return values.some((v) => v !== '');
    }
    default: {
      const c = f as { op: string; attrPath: string; compValue: unknown };
      const values = r[c.attrPath] ?? [];
      const kind = kindOf(c.attrPath, target);
      if (c.op === 'ne') return !values.some((v) => compare('eq', kind, v, c.compValue));
      return values.some((v) => compare(c.op, kind, v, c.compValue));
    }
  }
}

/**
 * Whether a resource matches a checked filter.
 *
 * @example
 * ```ts
 * const f = parseScimFilter('active eq false', 'User');
 * matchesScimFilter(f, { active: [false] }); // true
 * ```
 */
export function matchesScimFilter(f: ScimFilter, subject: FilterSubject): boolean {
  return evaluate(f.ast, subject, f.target);
}

/**
 * An `externalId eq "…"` or `userName eq "…"` term that every match must satisfy (the whole
 * filter, or one operand of a top-level `and`), preferring `externalId`; `undefined` when there is
 * none (the caller then evaluates the filter over every page).
 *
 * @example
 * ```ts
 * indexHint(parseScimFilter('externalId eq "00u1"', 'User')); // { attribute: 'externalid', value: '00u1' }
 * ```
 */
export function indexHint(
  f: ScimFilter,
): { readonly attribute: 'externalid' | 'username' | 'id'; readonly value: string } | undefined {
  const terms = f.ast.op === 'and' ? (f.ast as { filters: Filter[] }).filters : [f.ast];
  const eqs = terms
    .filter((t) => t.op === 'eq')
    .map((t) => t as { attrPath: string; compValue: unknown })
    .filter((t) => typeof t.compValue === 'string');
  for (const attribute of ['externalid', 'id', 'username'] as const) {
    const hit = eqs.find((t) => t.attrPath === attribute);
    if (hit !== undefined) return { attribute, value: hit.compValue as string };
  }
  return undefined;
}
