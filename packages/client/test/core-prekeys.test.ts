/**
 * The core's signed prekey rotation, alone: a new signed prekey once the newest is a week old,
 * replaced ones deleted only after 30 days and only when a new one is published, never the newest.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LAST_RESORT_BASE,
  lastResortKemId,
  planRotation,
  SIGNED_PREKEY_KEEP_MS,
  SIGNED_PREKEY_ROTATION_MS,
} from '../src/core/index.js';

const DAY = 86_400_000;

describe('planRotation', () => {
  it('publishes signed prekey 1 when there is none', () => {
    expect(planRotation([], 0)).toEqual({ publish: 1, remove: [] });
  });

  it('keeps a signed prekey younger than a week', () => {
    expect(planRotation([{ id: 3, createdAt: 0 }], SIGNED_PREKEY_ROTATION_MS - 1)).toEqual({
      publish: undefined,
      remove: [],
    });
  });

  it('replaces the newest after a week and deletes only replaced ones older than 30 days', () => {
    const stored = [
      { id: 1, createdAt: 0 },
      { id: 2, createdAt: 20 * DAY },
      { id: 3, createdAt: 29 * DAY },
    ];
    expect(planRotation(stored, 36 * DAY)).toEqual({ publish: 4, remove: [1] });
    expect(planRotation(stored, 29 * DAY + SIGNED_PREKEY_ROTATION_MS - 1)).toEqual({
      publish: undefined,
      remove: [],
    });
  });

  it('never removes the newest, and removes nothing it does not replace', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            id: fc.integer({ min: 1, max: 1000 }),
            createdAt: fc.integer({ min: 0, max: 400 * DAY }),
          }),
          {
            selector: (k) => k.id,
            maxLength: 12,
          },
        ),
        fc.integer({ min: 0, max: 500 * DAY }),
        (stored, now) => {
          const plan = planRotation(stored, now);
          const newest = Math.max(0, ...stored.map((k) => k.id));
          expect(plan.remove).not.toContain(newest);
          if (plan.publish === undefined) expect(plan.remove).toEqual([]);
          else expect(plan.publish).toBe(newest + 1);
          for (const id of plan.remove) {
            expect(now - stored.find((k) => k.id === id)!.createdAt).toBeGreaterThan(SIGNED_PREKEY_KEEP_MS);
          }
        },
      ),
    );
  });

  it('derives each last-resort KEM prekey id from its signed prekey', () => {
    expect(lastResortKemId(1)).toBe(LAST_RESORT_BASE + 1);
    expect(lastResortKemId(0x1_0002)).toBe(LAST_RESORT_BASE + 2);
  });
});
