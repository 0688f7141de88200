/**
 * Key stores: a wrong passphrase is refused, files are mode 0600 (and a group-readable one is
 * refused), no secret appears in the file in clear, altered files are refused.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNobleProvider, PIN_SCRYPT_FLOOR, WrongPin } from '@cloister/crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  certifyAdministrator,
  describeKeyStore,
  generateOrganisation,
  installAdminCertificate,
  openKeyRequest,
  openRootKey,
  openSession,
  openSigningKey,
  sealKeyRequest,
  sealRootKey,
  sealSession,
  sealSigningKey,
} from '../src/index.js';
import { readKeyStoreFile, writeKeyStoreFile } from '../src/node.js';

const provider = createNobleProvider();
const fast = { scrypt: PIN_SCRYPT_FLOOR };
const passphrase = 'correct horse battery staple';
const dir = mkdtempSync(join(tmpdir(), 'cloister-admin-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every way a 32-byte secret could appear in clear in a text file. */
function clearForms(secret: Uint8Array): string[] {
  const b = Buffer.from(secret);
  return [
    b.toString('hex'),
    b.toString('base64'),
    b.toString('base64url'),
    b.toString('base64').replace(/=+$/, ''),
  ];
}

describe('key stores', async () => {
  const org = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner' });

  it('round-trips the root key; a wrong passphrase is WrongPin; the private key is not in the file', async () => {
    const text = await sealRootKey(provider, { tenant: 'acme', ...org.root }, passphrase, fast);
    for (const form of clearForms(org.root.privateKey)) expect(text).not.toContain(form);
    const path = join(dir, 'root.key');
    writeKeyStoreFile(path, text);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const opened = await openRootKey(provider, readKeyStoreFile(path), passphrase);
    expect(Buffer.from(opened.privateKey).equals(Buffer.from(org.root.privateKey))).toBe(true);
    expect(opened.fingerprint).toBe(org.rootFingerprint);
    await expect(openRootKey(provider, text, 'another passphrase!')).rejects.toBeInstanceOf(WrongPin);
    expect(describeKeyStore(text)).not.toHaveProperty('wrappedPrivateKey');
  });

  it('refuses a short passphrase, an altered record, a swapped public key, a group-readable file', async () => {
    await expect(sealRootKey(provider, { tenant: 'acme', ...org.root }, 'short', fast)).rejects.toMatchObject(
      {
        code: 'ERR_VALIDATION',
      },
    );
    const text = await sealRootKey(provider, { tenant: 'acme', ...org.root }, passphrase, fast);
    const store = JSON.parse(text) as Record<string, string>;
    const wrapped = Buffer.from(store.wrappedPrivateKey as string, 'base64url');
    wrapped[wrapped.length - 1] = (wrapped[wrapped.length - 1] as number) ^ 1;
    await expect(
      openRootKey(
        provider,
        JSON.stringify({ ...store, wrappedPrivateKey: wrapped.toString('base64url') }),
        passphrase,
      ),
    ).rejects.toBeInstanceOf(WrongPin);
    const other = await provider.ed25519.generateKeyPair();
    await expect(
      openRootKey(
        provider,
        JSON.stringify({ ...store, publicKey: Buffer.from(other.publicKey).toString('base64url') }),
        passphrase,
      ),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    await expect(openRootKey(provider, '{"format":"other"}', passphrase)).rejects.toMatchObject({
      code: 'ERR_DECODE',
    });
    const loose = join(dir, 'loose.key');
    writeFileSync(loose, text, { mode: 0o644 });
    expect(() => readKeyStoreFile(loose)).toThrow(/0600/);
  });

  it('round-trips a signing key with its certificate; nothing secret in clear; wrong passphrase refused', async () => {
    const text = await sealSigningKey(provider, org.owner, passphrase, fast);
    for (const form of clearForms(org.owner.privateKey as Uint8Array)) expect(text).not.toContain(form);
    const key = await openSigningKey(provider, text, passphrase);
    expect(key.admin).toBe('adm_owner');
    expect(Buffer.from(key.certificate).equals(Buffer.from(org.owner.certificate))).toBe(true);
    expect(Buffer.from(key.rootPublicKey).equals(Buffer.from(org.root.publicKey))).toBe(true);
    await expect(openSigningKey(provider, text, 'not the passphrase')).rejects.toBeInstanceOf(WrongPin);
    // A certificate of another key, pasted into the file, is refused after unwrapping.
    const other = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner' });
    const store = JSON.parse(text) as Record<string, string>;
    const swapped = { ...store, certificate: Buffer.from(other.owner.certificate).toString('base64url') };
    await expect(openSigningKey(provider, JSON.stringify(swapped), passphrase)).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
  });

  it('round-trips a session; the token is not in the file; wrong passphrase refused', async () => {
    const token = Buffer.from(provider.randomBytes(32)).toString('base64url');
    const session = {
      server: { url: 'https://127.0.0.1:8443', pin: `sha256/${Buffer.alloc(32, 1).toString('base64')}` },
      tenant: 'acme',
      admin: 'adm_owner',
      role: 'owner' as const,
      token,
      expiresAt: Date.now() + 3_600_000,
    };
    const text = await sealSession(provider, session, passphrase, fast);
    expect(text).not.toContain(token);
    for (const form of clearForms(Buffer.from(token, 'base64url'))) expect(text).not.toContain(form);
    expect(await openSession(provider, text, passphrase)).toEqual(session);
    await expect(openSession(provider, text, 'wrong wrong wrong')).rejects.toBeInstanceOf(WrongPin);
  });

  it('a key request waits for its certificate; installing checks the certificate against the root', async () => {
    const keys = await provider.ed25519.generateKeyPair();
    const text = await sealKeyRequest(
      provider,
      { tenant: 'acme', admin: 'adm_carol', ...keys },
      passphrase,
      fast,
    );
    for (const form of clearForms(keys.privateKey)) expect(text).not.toContain(form);
    await expect(openKeyRequest(provider, text, 'not the passphrase')).rejects.toBeInstanceOf(WrongPin);
    const request = await openKeyRequest(provider, text, passphrase);
    const issue = (rootKey: Uint8Array, now = Date.now()) =>
      certifyAdministrator(provider, rootKey, {
        tenant: 'acme',
        admin: 'adm_carol',
        role: 'admin',
        adminPublicKey: request.publicKey,
        validityMs: 86_400_000,
        now,
      });
    const key = await installAdminCertificate(
      provider,
      request.privateKey,
      await issue(org.root.privateKey),
      org.root.publicKey,
    );
    expect(key).toMatchObject({ admin: 'adm_carol', role: 'admin' });
    // A certificate the operator's own root issued, or one that expired, is refused.
    const operator = await provider.ed25519.generateKeyPair();
    await expect(
      installAdminCertificate(
        provider,
        request.privateKey,
        await issue(operator.privateKey),
        org.root.publicKey,
      ),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    await expect(
      installAdminCertificate(
        provider,
        request.privateKey,
        await issue(org.root.privateKey, Date.now() - 2 * 86_400_000),
        org.root.publicKey,
      ),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
  });
});
