import { createNodeProvider } from '@cloister/crypto/node';
import { describe, expect, it } from 'vitest';
import { runServerDemo } from '../examples/demo-server.js';
import { runV2Demo } from '../examples/demo-v2.js';
import { quickstart } from '../examples/quickstart.js';
import { storageExample } from '../examples/storage.js';

describe('examples', () => {
  it('the README quick start runs and round-trips', async () => {
    const { plaintext, dataKey, again } = await quickstart();
    expect(new TextDecoder().decode(plaintext)).toBe('hello');
    expect(Buffer.from(again).equals(Buffer.from(dataKey))).toBe(true);
  });

  it('the demo’s v2 session reports what it should', async () => {
    const lines: string[] = [];
    await runV2Demo(
      createNodeProvider(),
      (title, ...rest) => lines.push(title, ...rest),
      (b) => `${b.length} bytes`,
    );
    const text = lines.join('\n');
    expect(text).toContain('negotiated suite: v2');
    expect(text).toContain('Bob reads: "Ward 3 handover at 18:00."');
    expect(text).toContain('Bob reads "three", "one", "two"');
    expect(text).toContain('the same message again -> ERR_REPLAY');
    expect(text).toContain('a flipped bit -> ERR_DECRYPTION_FAILED');
  });

  it('the storage example keeps, reopens, expires and purges, and leaves no clear text on disk', async () => {
    const lines: string[] = [];
    const report = await storageExample((line) => lines.push(line));
    expect(report).toEqual({
      lifetimeDays: 30,
      decidedBy: 'tenant',
      readBack: 'Ward 3 handover: bed 12 needs a new line at 18:00',
      afterExpiry: 0,
      purged: report.purged,
      clearTextFound: false,
    });
    expect(report.purged).toBeGreaterThan(0);
    expect(lines).toHaveLength(5);
  });

  it('the server demo enrols two devices and delivers a sealed v2 message through a real server', async () => {
    const lines: string[] = [];
    const read = await runServerDemo(createNodeProvider(), (title, ...rest) => lines.push(title, ...rest));
    expect(read).toBe('Ward 3 handover at 18:00 — bed 12 needs a new line.');
    const text = lines.join('\n');
    expect(text).toContain("Alice's token used again -> HTTP 401 ERR_UNAUTHENTICATED");
    expect(text).toContain('server answer: accepted');
    expect(text).toContain('sender (from the certificate inside the seal): alice, device 1');
    expect(text).toContain('envelopes left in his mailbox: 0');
  });
});
