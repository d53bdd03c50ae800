const encoder = new TextEncoder();

/**
 * MurmurHash3 x86 32-bit of `key` (a string is hashed as its UTF-8 bytes, as the C++ reference and
 * Unleash's Java, Go and Rust SDKs do), unsigned. The npm `murmurhash3js` used by Unleash's Node
 * SDK hashes `charCodeAt(i) & 0xff` instead, so it agrees only on ASCII keys.
 */
export function murmur3(key: string | Uint8Array, seed = 0): number {
  const bytes = typeof key === 'string' ? encoder.encode(key) : key;
  const length = bytes.length;
  const blocks = length & ~3;
  const view = new DataView(bytes.buffer, bytes.byteOffset, length);
  let h = seed >>> 0;
  for (let i = 0; i < blocks; i += 4) {
    let k = view.getUint32(i, true);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = view.getUint8(blocks);
    if (tail >= 2) k ^= view.getUint8(blocks + 1) << 8;
    if (tail === 3) k ^= view.getUint8(blocks + 2) << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Unleash's seed for variant buckets (strategy buckets use 0). */
export const VARIANT_SEED = 86028157;

/** Unleash's bucket of `key` in `groupId`: `murmur3("<groupId>:<key>", seed) % size + 1`, so 1..size. */
export function bucket(groupId: string, key: string, size = 100, seed = 0): number {
  return (murmur3(`${groupId}:${key}`, seed) % size) + 1;
}
