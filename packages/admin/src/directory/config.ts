/**
 * The LDAP / Active Directory bridge's configuration (`spec/directory.md` §3): a JSON file,
 * validated with zod; every error names the field, never its value. The directory's bind password
 * and the SCIM token are read from files (or, for the token, an environment variable) named in the
 * configuration, never written in it and never taken from a command line.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ValidationError } from '@cloister/crypto';
import { z } from 'zod';

/** The directory kinds the bridge reads. */
const KINDS = ['openldap', 'ad'] as const;

/** A source name: `ldap:<name>` is the `source` of the users the bridge manages. */
const NAME = /^[a-z0-9-]{1,32}$/;

const tlsSchema = z
  .object({
    caFile: z.string().min(1).optional(),
    servername: z.string().min(1).max(253).optional(),
  })
  .strict();

const groupSchema = z
  .object({
    group: z.string().min(1).max(1024),
    pool: z.string().min(1).max(200),
  })
  .strict();

const disabledSchema = z
  .object({
    attribute: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/),
    values: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

const schema = z
  .object({
    name: z.string().regex(NAME),
    kind: z.enum(KINDS),
    url: z.string().regex(/^ldaps?:\/\/[^/\s]+\/?$/i),
    insecurePlainLdap: z.boolean().optional(),
    tls: tlsSchema.optional(),
    bindDN: z.string().min(1).max(1024),
    bindPasswordFile: z.string().min(1),
    users: z
      .object({
        baseDNs: z.array(z.string().min(1).max(1024)).min(1).max(50),
        filter: z.string().min(3).max(4096).optional(),
      })
      .strict(),
    attributes: z
      .object({
        userName: z.string().min(1).optional(),
        displayName: z.string().min(1).optional(),
        email: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    disabled: disabledSchema.optional(),
    accesslogDN: z.string().min(1).max(1024).optional(),
    groups: z.array(groupSchema).max(1000).optional(),
    disableThreshold: z.number().int().min(0).max(10_000_000).optional(),
    fullRunEvery: z.number().int().min(1).max(10_000).optional(),
    concurrency: z.number().int().min(1).max(32).optional(),
    pageSize: z.number().int().min(1).max(5000).optional(),
    server: z
      .object({
        url: z.string().regex(/^https:\/\/\S+$/),
        pin: z.string().min(1),
      })
      .strict(),
    scimToken: z.union([
      z.object({ file: z.string().min(1) }).strict(),
      z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) }).strict(),
    ]),
    stateFile: z.string().min(1).optional(),
  })
  .strict();

/**
 * The configuration as written in the JSON file (before defaults).
 *
 * @example
 * ```ts
 * const input: DirectoryConfigInput = {
 *   name: 'corp',
 *   kind: 'openldap',
 *   url: 'ldaps://ldap.example.org',
 *   bindDN: 'cn=cloister,ou=services,dc=example,dc=org',
 *   bindPasswordFile: '/etc/cloister/ldap-password',
 *   users: { baseDNs: ['ou=people,dc=example,dc=org'] },
 *   server: { url: 'https://relay.example:8443', pin: 'sha256/…' },
 *   scimToken: { file: '/etc/cloister/scim-token' },
 * };
 * ```
 */
export type DirectoryConfigInput = z.input<typeof schema>;

/**
 * A validated configuration with every default filled in.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const corp: DirectoryConfig = parseDirectoryConfig(JSON.parse(readFileSync('corp.json', 'utf8')));
 * console.log(corp.source); // "ldap:corp"
 * ```
 */
export interface DirectoryConfig {
  /** The source name (`[a-z0-9-]{1,32}`). */
  readonly name: string;
  /** `ldap:<name>`: the directory `source` of every user this bridge manages. */
  readonly source: `ldap:${string}`;
  /** `openldap` or `ad` (Active Directory, Samba AD). */
  readonly kind: 'openldap' | 'ad';
  /** `ldaps://host[:port]` or `ldap://host[:port]`. */
  readonly url: string;
  /** True for `ldap://` unless {@link DirectoryConfig.insecurePlainLdap}: StartTLS before the bind. */
  readonly startTls: boolean;
  /** True when `ldap://` is used without StartTLS (the bind password crosses the network in clear). */
  readonly insecurePlainLdap: boolean;
  /** The CA file (PEM) and the name the directory's certificate must carry, when not the URL's host. */
  readonly tls: { readonly caFile?: string; readonly servername?: string };
  /** The DN the bridge binds as (read access to the scope is enough). */
  readonly bindDN: string;
  /** The file holding the bind password (its first line). */
  readonly bindPasswordFile: string;
  /** The base DNs (subtree) and the filter of the users in scope. */
  readonly users: { readonly baseDNs: readonly string[]; readonly filter: string };
  /** Directory attribute names: the account name, the display name, the e-mail address. */
  readonly attributes: { readonly userName: string; readonly displayName: string; readonly email: string };
  /** A further "disabled" flag for other schemas: the attribute, and the values that mean disabled (any value when absent). */
  readonly disabled?: { readonly attribute: string; readonly values?: readonly string[] };
  /** OpenLDAP: the change log's suffix (`cn=accesslog`) when the bind DN may read it; deletions are then read there. */
  readonly accesslogDN?: string;
  /** Directory group (DN, `entryUUID` or `objectGUID`) → pool name. */
  readonly groups: readonly { readonly group: string; readonly pool: string }[];
  /** More users disabled or left than this in one run stop it before anything is applied (default 500). */
  readonly disableThreshold: number;
  /** Every N-th run is a full run (default 24). */
  readonly fullRunEvery: number;
  /** SCIM requests in flight at once (default 4). */
  readonly concurrency: number;
  /** The LDAP paged-search page size (default 500). */
  readonly pageSize: number;
  /** The Cloister server: its URL and public-key pin. */
  readonly server: { readonly url: string; readonly pin: string };
  /** Where the SCIM token is: a file (its first line) or an environment variable. */
  readonly scimToken: { readonly file: string } | { readonly env: string };
  /** The state file of incremental runs, when the configuration names one. */
  readonly stateFile?: string;
}

/**
 * The default user filter of each kind.
 *
 * @example
 * ```ts
 * DEFAULT_USER_FILTER.ad; // "(&(objectCategory=person)(objectClass=user))"
 * ```
 */
export const DEFAULT_USER_FILTER: Readonly<Record<DirectoryConfig['kind'], string>> = {
  openldap: '(objectClass=inetOrgPerson)',
  ad: '(&(objectCategory=person)(objectClass=user))',
};

/** The default account-name attribute of each kind. */
const DEFAULT_USER_NAME: Readonly<Record<DirectoryConfig['kind'], string>> = {
  openldap: 'uid',
  ad: 'sAMAccountName',
};

/**
 * The default disable threshold (users disabled or left in one run), as Entra's accidental-deletion
 * prevention.
 *
 * @example
 * ```ts
 * const threshold = config.disableThreshold ?? DEFAULT_DISABLE_THRESHOLD;
 * ```
 */
export const DEFAULT_DISABLE_THRESHOLD = 500;
/**
 * By default every 24th run is a full run.
 *
 * @example
 * ```ts
 * const every = config.fullRunEvery ?? DEFAULT_FULL_RUN_EVERY;
 * ```
 */
export const DEFAULT_FULL_RUN_EVERY = 24;

function pathOf(issue: z.core.$ZodIssue): string {
  return issue.path.length === 0 ? 'config' : `config.${issue.path.map(String).join('.')}`;
}

/**
 * Validates a parsed JSON configuration and fills in the defaults. Relative file names
 * (`bindPasswordFile`, `scimToken.file`, `tls.caFile`, `stateFile`) are resolved against
 * `baseDir` when given. Throws `ValidationError` naming the first bad field; an `ldap://` URL
 * without `insecurePlainLdap` uses StartTLS.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { parseDirectoryConfig } from '@cloister/admin/node';
 * const corp = parseDirectoryConfig(JSON.parse(readFileSync('corp.json', 'utf8')), '/etc/cloister');
 * ```
 */
export function parseDirectoryConfig(value: unknown, baseDir?: string): DirectoryConfig {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(issue === undefined ? 'config' : pathOf(issue), expectation(issue));
  }
  const c = parsed.data;
  const at = (p: string) => (baseDir === undefined ? p : resolve(baseDir, p));
  const plain = c.url.toLowerCase().startsWith('ldap://');
  const insecure = plain && c.insecurePlainLdap === true;
  if (!plain && c.insecurePlainLdap === true) {
    throw new ValidationError('config.insecurePlainLdap', 'absent for an ldaps:// URL');
  }
  const tls: { caFile?: string; servername?: string } = {};
  if (c.tls?.caFile !== undefined) tls.caFile = at(c.tls.caFile);
  if (c.tls?.servername !== undefined) tls.servername = c.tls.servername;
  const config: DirectoryConfig = {
    name: c.name,
    source: `ldap:${c.name}`,
    kind: c.kind,
    url: c.url.replace(/\/$/, ''),
    startTls: plain && !insecure,
    insecurePlainLdap: insecure,
    tls,
    bindDN: c.bindDN,
    bindPasswordFile: at(c.bindPasswordFile),
    users: { baseDNs: c.users.baseDNs, filter: c.users.filter ?? DEFAULT_USER_FILTER[c.kind] },
    attributes: {
      userName: c.attributes?.userName ?? DEFAULT_USER_NAME[c.kind],
      displayName: c.attributes?.displayName ?? 'displayName',
      email: c.attributes?.email ?? 'mail',
    },
    groups: c.groups ?? [],
    disableThreshold: c.disableThreshold ?? DEFAULT_DISABLE_THRESHOLD,
    fullRunEvery: c.fullRunEvery ?? DEFAULT_FULL_RUN_EVERY,
    concurrency: c.concurrency ?? 4,
    pageSize: c.pageSize ?? 500,
    server: c.server,
    scimToken: 'file' in c.scimToken ? { file: at(c.scimToken.file) } : { env: c.scimToken.env },
    ...(c.disabled === undefined
      ? {}
      : {
          disabled: {
            attribute: c.disabled.attribute,
            ...(c.disabled.values === undefined ? {} : { values: c.disabled.values }),
          },
        }),
    ...(c.accesslogDN === undefined ? {} : { accesslogDN: c.accesslogDN }),
    ...(c.stateFile === undefined ? {} : { stateFile: at(c.stateFile) }),
  };
  return config;
}

function expectation(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'a valid configuration';
  switch (issue.code) {
    case 'unrecognized_keys':
      return 'no unknown fields';
    case 'invalid_type':
      return `a value of type ${issue.expected}`;
    case 'invalid_format':
      return 'a value of the documented format';
    case 'too_small':
    case 'too_big':
      return 'a value within the documented range';
    case 'invalid_value':
      return 'one of the documented values';
    default:
      return 'a valid value';
  }
}

/**
 * Reads and validates a configuration file (JSON); relative file names in it are resolved against
 * the file's directory. Throws `ValidationError` (`config`) when the file is not JSON.
 *
 * @example
 * ```ts
 * import { loadDirectoryConfig } from '@cloister/admin/node';
 * const config = loadDirectoryConfig('/etc/cloister/corp.json');
 * ```
 */
export function loadDirectoryConfig(path: string): DirectoryConfig {
  const text = readFileSync(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError('config', 'a JSON document');
  }
  return parseDirectoryConfig(value, dirname(resolve(path)));
}

/** The first line of a secret file, without its line end; an empty one is refused. */
function firstLine(path: string, field: string): string {
  const line = (readFileSync(path, 'utf8').split(/\r?\n/, 1)[0] ?? '').trim();
  if (line === '') throw new ValidationError(field, 'a file whose first line holds the secret');
  return line;
}

/**
 * The directory's bind password, read from {@link DirectoryConfig.bindPasswordFile}.
 *
 * @example
 * ```ts
 * const password = readBindPassword(config);
 * ```
 */
export function readBindPassword(config: DirectoryConfig): string {
  return firstLine(config.bindPasswordFile, 'config.bindPasswordFile');
}

/**
 * The SCIM token, read from the file or the environment variable the configuration names
 * (`scim_<base64url>`); anything else is refused without echoing it.
 *
 * @example
 * ```ts
 * const token = readScimToken(config, process.env);
 * ```
 */
export function readScimToken(
  config: DirectoryConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const token =
    'file' in config.scimToken
      ? firstLine(config.scimToken.file, 'config.scimToken.file')
      : (env[config.scimToken.env] ?? '').trim();
  if (!/^scim_[A-Za-z0-9_-]{20,200}$/.test(token)) {
    throw new ValidationError('config.scimToken', 'a SCIM token (scim_…) in the named file or variable');
  }
  return token;
}
