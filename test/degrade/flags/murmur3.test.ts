import { describe, expect, it } from 'vitest';
import { bucket, murmur3 } from '../../../src/degrade/flags/murmur3.js';

describe('murmur3 x86_32', () => {
  // Reference vectors: the C++ reference (SMHasher) over UTF-8 bytes, as Python's mmh3 and
  // Unleash's Java/Go SDKs compute them.
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['a', 1, 1485495528],
    ['foo', 0, 4138058784],
    ['hello', 0, 613153351],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ['My hovercraft is full of eels.', 0, 2953494853],
    ['My 🚀 is full of 🦎.', 0, 1818098979],
    ['吉 星 高 照', 0, 3435142074],
  ])('murmur3(%j, %i) = %i', (key, seed, want) => {
    expect(murmur3(key, seed)).toBe(want);
  });

  it('hashes bytes and their string alike, and every tail length', () => {
    const text = 'abcdefg';
    for (let n = 0; n <= text.length; n++) {
      expect(murmur3(new TextEncoder().encode(text.slice(0, n)), 7)).toBe(murmur3(text.slice(0, n), 7));
    }
    expect(murmur3(new Uint8Array([1, 2, 3, 4, 5]).subarray(1), 0)).toBe(murmur3(new Uint8Array([2, 3, 4, 5]), 0));
  });

  it('buckets into 1..size', () => {
    for (let i = 0; i < 1000; i++) {
      const b = bucket('g', String(i));
      expect(b).toBeGreaterThanOrEqual(1);
      expect(b).toBeLessThanOrEqual(100);
    }
  });
});
