/**
 * A private OpenLDAP server for the directory tests: Debian's `slapd` started as a child process of
 * the test, with its configuration (`slapd.conf`) and its databases in a new temporary directory,
 * listening on `ldap://127.0.0.1:<free port>` only. Nothing of the system's own `slapd` (its
 * `/etc/ldap/slapd.d`, `/var/lib/ldap`, port 389) is read or written. `spec/directory-tests.md`
 * describes what is configured and why.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { type Availability, findExecutable, stopProcess } from './processes.js';

export type { Availability };

/** Where Debian's `slapd` package installs the server. */
const DEBIAN_SLAPD = '/usr/sbin/slapd';
/** Where the schema files are (Debian's `slapd`). */
const SCHEMA_DIR = '/etc/ldap/schema';
/** The schemas loaded, in order (each needs the ones before it). */
const SCHEMAS = ['core', 'cosine', 'inetorgperson', 'nis'] as const;
/** Where the dynamically loaded backends and overlays are: Debian, then other distributions. */
const MODULE_DIRS = ['/usr/lib/ldap', '/usr/lib64/openldap', '/usr/lib/openldap', '/usr/libexec/openldap'];
/** The modules loaded: the `mdb` backend and the three overlays the tests rely on. */
const MODULES = ['back_mdb', 'ppolicy', 'syncprov', 'accesslog'] as const;

/** The directory's suffix. */
const BASE_DN = 'dc=example,dc=org';
/** The root DN (the directory's administrator; no entry, its password is in the configuration). */
const ROOT_DN = `cn=admin,${BASE_DN}`;
/** The default password policy: it makes `pwdAccountLockedTime` refuse binds. */
const POLICY_DN = `cn=default,ou=policies,${BASE_DN}`;
/** The change log written by the `accesslog` overlay (a second database). */
const ACCESSLOG_DN = 'cn=accesslog';

/** How long the server may take to answer its first bind. */
const START_TIMEOUT_MS = 20_000;
/** How long the server may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 5_000;

/** A running private `slapd`. */
export interface Slapd {
  /** `ldap://127.0.0.1:<port>`. */
  readonly url: string;
  /** The root DN, which may read and write everything. */
  readonly bindDN: string;
  /** The root DN's password (random for each server). */
  readonly password: string;
  /** The suffix, `dc=example,dc=org`; its entry exists. */
  readonly baseDN: string;
  /** The suffix of the `accesslog` overlay's change log (`cn=accesslog`), readable by the root DN. */
  readonly accesslogDN: string;
  /** The default password policy's DN (`ppolicy_default`), under `ou=policies` of the suffix. */
  readonly policyDN: string;
  /** Milliseconds from spawning `slapd` to its first successful bind. */
  readonly startMs: number;
  /** Kills the server and removes its directory; calling it again does nothing. */
  stop(): Promise<void>;
}

/** The first module directory that holds every module in {@link MODULES}. */
function findModuleDir(): string | undefined {
  return MODULE_DIRS.find((dir) => MODULES.every((m) => existsSync(join(dir, `${m}.so`))));
}

/**
 * Whether a private `slapd` can be started here: the binary, the schema files and the modules
 * (`back_mdb`, `ppolicy`, `syncprov`, `accesslog`) must be installed (Debian: `slapd`).
 */
export function slapdAvailable(): Availability {
  const install = 'install it with: sudo apt-get install -y slapd ldap-utils';
  if (findExecutable('slapd', [DEBIAN_SLAPD]) === undefined)
    return { ok: false, reason: `OpenLDAP's slapd is not installed; ${install}` };
  const missingSchema = SCHEMAS.find((s) => !existsSync(join(SCHEMA_DIR, `${s}.schema`)));
  if (missingSchema !== undefined) {
    return {
      ok: false,
      reason: `slapd's schema ${SCHEMA_DIR}/${missingSchema}.schema is missing; ${install}`,
    };
  }
  if (findModuleDir() === undefined) {
    return {
      ok: false,
      reason: `no directory among ${MODULE_DIRS.join(', ')} holds slapd's modules ${MODULES.join(', ')}; ${install}`,
    };
  }
  return { ok: true };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port was assigned'));
      });
    });
  });
}

/** The `slapd.conf` of a server whose files are all under `dir`. */
function configuration(dir: string, moduleDir: string, password: string): string {
  return [
    ...SCHEMAS.map((s) => `include ${SCHEMA_DIR}/${s}.schema`),
    `modulepath ${moduleDir}`,
    ...MODULES.map((m) => `moduleload ${m}`),
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    '',
    // The change log first: the main database's accesslog overlay names it. Only the root DN reads
    // it (no access rule grants anyone else anything).
    'database mdb',
    `suffix "${ACCESSLOG_DN}"`,
    `rootdn "${ROOT_DN}"`,
    `directory ${join(dir, 'accesslog')}`,
    'maxsize 104857600',
    'index reqStart eq',
    'overlay syncprov',
    'syncprov-nopresent TRUE',
    'syncprov-reloadhint TRUE',
    '',
    'database mdb',
    `suffix "${BASE_DN}"`,
    `rootdn "${ROOT_DN}"`,
    `rootpw ${password}`,
    `directory ${join(dir, 'data')}`,
    'maxsize 104857600',
    'index objectClass eq',
    'index entryUUID eq',
    'index entryCSN eq',
    'index uid eq',
    // syncprov keeps the suffix's contextCSN (RFC 4533 sync) current; accesslog writes every
    // successful write to cn=accesslog, deletes included, with the entry's entryUUID.
    'overlay syncprov',
    'syncprov-checkpoint 100 10',
    'overlay accesslog',
    `logdb ${ACCESSLOG_DN}`,
    'logops writes',
    'logsuccess TRUE',
    'overlay ppolicy',
    `ppolicy_default "${POLICY_DN}"`,
    '',
  ].join('\n');
}

/** Binds as `dn` until it succeeds; fails when `child` exits or after {@link START_TIMEOUT_MS}. */
async function waitForBind(
  url: string,
  dn: string,
  password: string,
  child: ChildProcess,
  output: () => string,
) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `slapd exited (${child.exitCode ?? child.signalCode}) before it answered:\n${output()}`,
      );
    }
    const client = new Client({ url, connectTimeout: 1_000, timeout: 2_000 });
    try {
      await client.bind(dn, password);
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(
          `slapd did not answer a bind within ${START_TIMEOUT_MS} ms (${String(error)}):\n${output()}`,
        );
      }
    } finally {
      await client.unbind().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts `slapd` on one port; rejects when it cannot bind the port or does not answer. */
async function startOn(dir: string, slapd: string, port: number, password: string) {
  const url = `ldap://127.0.0.1:${port}`;
  // -d 0: stay in the foreground (a child of the test) and log nothing but errors, to stderr.
  const child = spawn(slapd, ['-f', join(dir, 'slapd.conf'), '-h', `${url}/`, '-d', '0'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.once('error', (error) => collect(Buffer.from(String(error))));
  // slapd has no "exit when stdin ends", so a shell waits for the end of a pipe from this process
  // and then kills it: a test process that dies without stopping slapd (a killed worker) takes it
  // along. stop() kills slapd first, then the watchdog.
  const watchdog = spawn('sh', ['-c', 'read _ignored; kill -KILL "$0" 2>/dev/null', String(child.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const stopWatchdog = () => watchdog.kill('SIGKILL');
  try {
    await waitForBind(url, ROOT_DN, password, child, () => output);
  } catch (error) {
    await stopProcess(child, STOP_TIMEOUT_MS);
    stopWatchdog();
    throw error;
  }
  return { url, child, stopWatchdog };
}

/**
 * Starts a private `slapd` (see the module comment) with the suffix entry and the default password
 * policy in place. Throws when {@link slapdAvailable} is not ok or the server does not start.
 */
export async function startSlapd(): Promise<Slapd> {
  const available = slapdAvailable();
  if (!available.ok) throw new Error(`slapd cannot be started: ${available.reason}`);
  const slapd = findExecutable('slapd', [DEBIAN_SLAPD]) as string;
  const moduleDir = findModuleDir() as string;
  const dir = mkdtempSync(join(tmpdir(), 'cloister-slapd-'));
  try {
    mkdirSync(join(dir, 'data'));
    mkdirSync(join(dir, 'accesslog'));
    const password = randomBytes(18).toString('base64url');
    writeFileSync(join(dir, 'slapd.conf'), configuration(dir, moduleDir, password), { mode: 0o600 });

    const spawned = performance.now();
    let started: Awaited<ReturnType<typeof startOn>> | undefined;
    // The port is free when chosen but another process may take it before slapd binds it.
    for (let attempt = 1; started === undefined; attempt++) {
      try {
        started = await startOn(dir, slapd, await freePort(), password);
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
    const startMs = Math.round(performance.now() - spawned);
    const { url, child, stopWatchdog } = started;

    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= (async () => {
        await stopProcess(child, STOP_TIMEOUT_MS);
        stopWatchdog();
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    };

    const client = new Client({ url });
    try {
      await client.bind(ROOT_DN, password);
      await client.add(BASE_DN, { objectClass: ['dcObject', 'organization'], dc: 'example', o: 'Example' });
      await client.add(`ou=policies,${BASE_DN}`, { objectClass: 'organizationalUnit', ou: 'policies' });
      // The policy checks userPassword; pwdLockout lets an administrator lock an account with
      // pwdAccountLockedTime (000001010000Z: locked until an administrator removes it).
      await client.add(POLICY_DN, {
        objectClass: ['device', 'pwdPolicy'],
        cn: 'default',
        pwdAttribute: 'userPassword',
        pwdLockout: 'TRUE',
      });
    } catch (error) {
      await stop();
      throw error;
    } finally {
      await client.unbind().catch(() => undefined);
    }

    return {
      url,
      bindDN: ROOT_DN,
      password,
      baseDN: BASE_DN,
      accesslogDN: ACCESSLOG_DN,
      policyDN: POLICY_DN,
      startMs,
      stop,
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
