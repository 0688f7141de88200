/**
 * A private Samba Active Directory domain controller for the directory tests: `samba-tool domain
 * provision` into a new temporary directory (every path Samba writes points into it, nothing under
 * `/etc` or `/var` is touched), then `samba` in the foreground as a child process of the test with
 * only its LDAP service, bound to one random loopback address (`127.x.y.z`, ports 389 and 636).
 * `spec/directory-tests.md` describes the settings and why each is there.
 *
 * Samba's LDAP server has no setting for its port, so the DC takes 389 and 636 of an address of its
 * own in 127.0.0.0/8 (Linux routes the whole block to the loopback interface); two DCs, or a DC and
 * a system LDAP server on 127.0.0.1, do not collide. When 389 is taken on every address (a server
 * bound to 0.0.0.0:389) the helper refuses with that reason.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { Client } from 'ldapts';
import { type Availability, findExecutable, stopProcess } from './processes.js';

export type { Availability };

/** The Debian packages a DC needs (the last three are only recommended by `samba`). */
const SAMBA_PACKAGES = 'samba samba-ad-provision samba-dsdb-modules samba-vfs-modules';

/** The DNS domain (realm), the NetBIOS domain and the DC's host name. */
const REALM = 'EXAMPLE.ORG';
const DOMAIN = 'EXAMPLE';
const HOST = 'DC1';
/** The domain's naming context. */
const BASE_DN = 'DC=example,DC=org';
/** The built-in administrator. */
const ADMIN_DN = `CN=Administrator,CN=Users,${BASE_DN}`;

/**
 * How long `samba-tool domain provision` may take: about 20 s on an idle two-core machine, 45 s at
 * a load average of 20.
 */
const PROVISION_TIMEOUT_MS = 240_000;
/** How long `samba` may take to answer its first bind. */
const START_TIMEOUT_MS = 60_000;
/** How long `samba` may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 10_000;

/** A running private Samba AD DC. */
export interface SambaDc {
  /** `ldap://127.x.y.z:389`: simple binds without TLS are allowed (see the module comment). */
  readonly url: string;
  /** `ldaps://127.x.y.z:636`; use it with {@link SambaDc.tls}. AD sets passwords only over TLS. */
  readonly ldapsUrl: string;
  /** TLS options for {@link SambaDc.ldapsUrl}: the DC's own CA and the name on its certificate. */
  readonly tls: ConnectionOptions;
  /** The domain's Administrator. */
  readonly bindDN: string;
  /** The Administrator's password (random for each DC). */
  readonly password: string;
  /** The domain's naming context, `DC=example,DC=org`. */
  readonly baseDN: string;
  /** Milliseconds `samba-tool domain provision` took. */
  readonly provisionMs: number;
  /** Milliseconds from spawning `samba` to its first successful bind. */
  readonly startMs: number;
  /** Kills the DC and removes its directory; calling it again does nothing. */
  stop(): Promise<void>;
}

/**
 * Whether a private Samba AD DC can be started here: `samba`, `samba-tool`, provisioning's data and
 * the directory's modules must be installed (Debian: {@link SAMBA_PACKAGES}), and the process must run as root (provisioning sets the sysvol's owners and
 * ACLs, and the DC binds ports 389 and 636).
 */
export function sambaAvailable(): Availability {
  const install = `install it with: sudo apt-get install -y ${SAMBA_PACKAGES}`;
  const samba = findExecutable('samba');
  if (samba === undefined) return { ok: false, reason: `Samba's samba is not installed; ${install}` };
  if (findExecutable('samba-tool') === undefined) {
    return { ok: false, reason: `Samba's samba-tool is not installed; ${install}` };
  }
  // What `samba` was built with: where provisioning's data and the loadable modules are.
  let build: string;
  try {
    build = execFileSync(samba, ['-b'], { encoding: 'utf8', timeout: 10_000 });
  } catch (error) {
    return { ok: false, reason: `samba -b failed (${String(error).split('\n')[0]})` };
  }
  const setting = (name: string) => new RegExp(`^\\s*${name}: (.+)$`, 'm').exec(build)?.[1]?.trim();
  const setupDir = setting('SETUPDIR');
  const modulesDir = setting('MODULESDIR');
  // Debian's samba only recommends these; an installation without recommends lacks them.
  const parts: readonly [string | undefined, string, string][] = [
    [setupDir, 'ad-schema', 'samba-ad-provision'],
    [modulesDir, join('ldb', 'samba_dsdb.so'), 'samba-dsdb-modules'],
    [modulesDir, join('vfs', 'dfs_samba4.so'), 'samba-vfs-modules'],
  ];
  for (const [base, file, pkg] of parts) {
    if (base === undefined || !existsSync(join(base, file))) {
      return {
        ok: false,
        reason: `Samba's ${base === undefined ? file : join(base, file)} is missing; install it with: sudo apt-get install -y ${pkg}`,
      };
    }
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return {
      ok: false,
      reason:
        'a Samba AD domain controller must be provisioned and run as root, and the tests do not run as root',
    };
  }
  return { ok: true };
}

/** Whether `port` on `address` can be bound now. */
function canListen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, address, () => server.close(() => resolve(true)));
  });
}

/** A random loopback address other than 127.0.0.1 whose ports 389 and 636 are free. */
async function freeLoopbackAddress(): Promise<string> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const address = `127.${randomInt(0, 256)}.${randomInt(0, 256)}.${randomInt(2, 255)}`;
    if ((await canListen(address, 389)) && (await canListen(address, 636))) return address;
  }
  if (!(await canListen('127.0.0.1', 389))) {
    throw new Error('port 389 is taken on every loopback address (an LDAP server listens on 0.0.0.0:389?)');
  }
  throw new Error('no loopback address with free ports 389 and 636 was found in 10 tries');
}

/** Runs `command` to its end; rejects with its output when it fails. */
function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args[0] ?? ''} failed (${code ?? signal}):\n${output}`));
    });
  });
}

/**
 * The `[global]` section the DC runs with. `samba-tool` writes its own `smb.conf` at provision
 * (with every service and the system's log and pid paths); this one replaces it.
 */
function configuration(dir: string, address: string): string {
  return [
    '[global]',
    `netbios name = ${HOST}`,
    `realm = ${REALM}`,
    `workgroup = ${DOMAIN}`,
    'server role = active directory domain controller',
    'idmap_ldb:use rfc2307 = yes',
    // Only the LDAP server (389, 636): no SMB, RPC, KDC, NetBIOS, DNS, replication or winbind.
    'server services = ldap',
    // One address written with a mask: a bare address is accepted only when it is an interface's.
    `interfaces = ${address}/8`,
    'bind interfaces only = yes',
    // Simple binds over ldap:// (the default refuses them without TLS: "Transport encryption
    // required"), as many directories allow; passwords are still set only over TLS.
    'ldap server require strong auth = no',
    `private dir = ${join(dir, 'private')}`,
    `binddns dir = ${join(dir, 'bind-dns')}`,
    `state directory = ${join(dir, 'state')}`,
    `cache directory = ${join(dir, 'cache')}`,
    `lock directory = ${dir}`,
    `pid directory = ${dir}`,
    `ncalrpc dir = ${join(dir, 'ncalrpc')}`,
    `winbindd socket directory = ${join(dir, 'winbindd')}`,
    `ntp signd socket directory = ${join(dir, 'ntp_signd')}`,
    `log file = ${join(dir, 'log')}`,
    'logging = file',
    'log level = 1',
    '',
  ].join('\n');
}

/** The tail of the DC's log file, for error messages. */
function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'log'), 'utf8').slice(-4_000);
  } catch {
    return '(no log)';
  }
}

/**
 * Provisions and starts a private Samba AD DC (see the module comment). Throws when
 * {@link sambaAvailable} is not ok, when no loopback address has ports 389 and 636 free, or when
 * the DC does not start.
 */
export async function startSambaDc(): Promise<SambaDc> {
  const available = sambaAvailable();
  if (!available.ok) throw new Error(`a Samba AD DC cannot be started: ${available.reason}`);
  const sambaTool = findExecutable('samba-tool') as string;
  const samba = findExecutable('samba') as string;
  const dir = mkdtempSync(join(tmpdir(), 'cloister-samba-'));
  let child: ChildProcess | undefined;
  try {
    // AD's default policy wants three character classes and at least seven characters.
    const password = `Aa1!${randomBytes(15).toString('base64url')}`;
    // --targetdir places the private, state, cache, lock and binddns directories; these are the
    // other paths provisioning would otherwise take from the system's defaults under /run and /var.
    const paths = [
      `pid directory = ${dir}`,
      `ncalrpc dir = ${join(dir, 'ncalrpc')}`,
      `winbindd socket directory = ${join(dir, 'winbindd')}`,
      `ntp signd socket directory = ${join(dir, 'ntp_signd')}`,
      `log file = ${join(dir, 'log')}`,
    ];
    const provisionStart = performance.now();
    await run(
      sambaTool,
      [
        'domain',
        'provision',
        '--use-rfc2307',
        `--realm=${REALM}`,
        `--domain=${DOMAIN}`,
        `--host-name=${HOST}`,
        '--server-role=dc',
        '--dns-backend=NONE',
        `--adminpass=${password}`,
        `--targetdir=${dir}`,
        ...paths.map((line) => `--option=${line}`),
      ],
      dir,
      PROVISION_TIMEOUT_MS,
    );
    const provisionMs = Math.round(performance.now() - provisionStart);

    const address = await freeLoopbackAddress();
    const conf = join(dir, 'etc', 'smb.conf');
    writeFileSync(conf, configuration(dir, address));

    const url = `ldap://${address}:389`;
    const spawned = performance.now();
    // -i: foreground, no daemon, and exit at the end of stdin, a pipe from this process: a test
    // process that dies without stopping the DC (a killed worker) takes it along.
    // -M single: one process for every task, for a test's load.
    const started = spawn(samba, ['-i', '-M', 'single', '-s', conf], {
      cwd: dir,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child = started;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(
          `samba exited (${started.exitCode ?? started.signalCode}) before it answered:\n${logTail(dir)}`,
        );
      }
      const client = new Client({ url, connectTimeout: 1_000, timeout: 5_000 });
      try {
        await client.bind(ADMIN_DN, password);
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(
            `samba did not answer a bind within ${START_TIMEOUT_MS} ms (${String(error)}):\n${logTail(dir)}`,
          );
        }
      } finally {
        await client.unbind().catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const startMs = Math.round(performance.now() - spawned);

    let stopped: Promise<void> | undefined;
    return {
      url,
      ldapsUrl: `ldaps://${address}:636`,
      // The certificate Samba made at its first start names the DC, not the address.
      tls: {
        ca: readFileSync(join(dir, 'private', 'tls', 'ca.pem'), 'utf8'),
        servername: `${HOST}.${REALM}`.toLowerCase(),
      },
      bindDN: ADMIN_DN,
      password,
      baseDN: BASE_DN,
      provisionMs,
      startMs,
      stop() {
        stopped ??= (async () => {
          await stopProcess(started, STOP_TIMEOUT_MS);
          rmSync(dir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  } catch (error) {
    if (child !== undefined) await stopProcess(child, STOP_TIMEOUT_MS);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
