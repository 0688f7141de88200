/**
 * Remote wipe on this device: asking the server for a command, verifying it (a `wipe`
 * organisation object signed under the organisation root this device pinned at enrolment, naming
 * this device, not older than one it holds; `core/organisation.ts`), destroying the data key first
 * and then the local data, and sending the signed report. A tampered, foreign or operator-signed
 * command changes nothing and is reported with `wipe-refused`; a device enrolled without a root
 * refuses every command.
 *
 * @module
 */
import { CloisterError, signWipeReport, ValidationError, WipeCommandError, wipe } from '@cloister/crypto';
import { txExecutor } from '@cloister/storage';
import { toBase64Url as b64, requireBase64Url } from './_base64.js';
import type { ClientContext, Unlocked } from './context.js';
import { verifyWipe } from './core/index.js';
import { deleteRegistration } from './enrolment.js';
import { bindClientStores } from './store/index.js';
import { expectOk } from './transport/common.js';
import { markWiped, markWipeReported } from './vault.js';

/** Remote wipe of one client; `stopAll` stops the socket, the outbox and the timers. */
export class RemoteWipe {
  readonly #ctx: ClientContext;
  readonly #stopAll: () => Promise<void>;
  #wiping: Promise<void> | undefined;

  constructor(ctx: ClientContext, stopAll: () => Promise<void>) {
    this.#ctx = ctx;
    this.#stopAll = stopAll;
  }

  /**
   * Asks the server for a wipe command and carries it out; resolves `true` when the client is now
   * wiped, `false` when there is none or it was refused (`wipe-refused`).
   */
  async check(): Promise<boolean> {
    await this.#wiping?.catch(() => undefined);
    if (this.#ctx.status === 'wiped') return true;
    const u = this.#ctx.ready();
    const res = await u.transport.request('GET', '/v1/wipe');
    if (res.status === 404) return false;
    const body = expectOk(res).json as { command: string | null };
    if (body.command === null || body.command === undefined) return false;
    try {
      await this.apply(requireBase64Url(body.command));
    } catch (e) {
      // A refused command was reported (`wipe-refused`); the device goes on.
      if (e instanceof WipeCommandError) return false;
      throw e;
    }
    return true;
  }

  /** Verifies and carries out a wipe command, one at a time. */
  apply(commandBytes: Uint8Array): Promise<void> {
    const previous = this.#wiping;
    const run = (async () => {
      await previous?.catch(() => undefined);
      if (this.#ctx.status === 'wiped') return;
      await this.#apply(commandBytes);
    })();
    this.#wiping = run;
    return run;
  }

  async #apply(commandBytes: Uint8Array): Promise<void> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const refuse = (reason: string, problem: 'signature' | 'target'): never => {
      ctx.emit({ type: 'wipe-refused', reason });
      throw new WipeCommandError(problem);
    };
    if (u.registration.organisationRoot === undefined) refuse('no-root', 'signature');
    const self = {
      provider: ctx.provider,
      tenant: u.registration.tenant,
      userId: u.registration.userId,
      deviceId: u.registration.deviceId,
      organisationRoot: u.registration.organisationRoot,
      tenantPublicKey: u.registration.tenantPublicKey,
    };
    let command: { readonly commandId: Uint8Array };
    try {
      command = await u.stores.transaction((t) => verifyWipe(self, t.tx, commandBytes, ctx.now()));
    } catch (e) {
      if (!(e instanceof CloisterError) || e.code === 'ERR_STORAGE') throw e;
      if (e instanceof ValidationError && e.field === 'payload') return refuse('target', 'target');
      return refuse(e.code, 'signature');
    }
    const wipedAt = ctx.now();
    const report = await signWipeReport(ctx.provider, u.self.identity.signingKeyPair.privateKey, {
      commandId: command.commandId,
      wipedAt,
    });
    const commandId = b64(command.commandId);
    // Destroy the data key first: from here on, nothing stored can be decrypted.
    await markWiped(ctx, { commandId, wipedAt, report, reported: false });
    await this.#stopAll();
    await destroyLocalData(u);
    wipe(u.self.identity.signingKeyPair.privateKey, u.self.identity.dhKeyPair.privateKey);
    ctx.unlocked = undefined;
    ctx.status = 'wiped';
    let reported = false;
    try {
      const res = await u.transport.request('POST', '/v1/wipe/report', { json: { report: b64(report) } });
      reported = res.status >= 200 && res.status < 300;
    } catch {
      reported = false;
    }
    if (reported) await markWipeReported(ctx, commandId, wipedAt);
    wipe(u.registration.credential);
    ctx.emit({ type: 'wiped', commandId, reported });
  }
}

/** Deletes every row that can be named; the rest is unreadable without the destroyed key. */
async function destroyLocalData(u: Unlocked): Promise<void> {
  await u.adapter.transaction(async (tx) => {
    const stores = bindClientStores(txExecutor(tx));
    for (;;) {
      const page = await stores.conversations.list({ limit: 1000 });
      for (const c of page.items) await stores.conversations.delete(c.id);
      if (page.items.length === 0 || page.next === undefined) break;
    }
    await stores.ownIdentity.delete();
    await deleteRegistration(tx);
  });
}
