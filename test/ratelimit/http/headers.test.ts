import { parseList } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { rateLimitHeader, rateLimitPolicyHeader, retryAfterSeconds, tooManyRequestsProblem } from '../../../src/ratelimit/http/headers.js';

describe('IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-10)', () => {
  it("writes the draft's own examples exactly", () => {
    expect(rateLimitPolicyHeader([{ name: 'default', quota: 100, windowSeconds: 60 }])).toBe('"default";q=100;w=60');
    expect(rateLimitHeader([{ name: 'default', remaining: 50, resetSeconds: 30 }])).toBe('"default";r=50;t=30');
    expect(
      rateLimitPolicyHeader([
        { name: 'burst', quota: 100, windowSeconds: 60 },
        { name: 'day', quota: 1000, windowSeconds: 86400, unit: 'requests' },
      ]),
    ).toBe('"burst";q=100;w=60, "day";q=1000;qu="requests";w=86400');
  });

  it('writes Structured Field Values a parser reads back: quoted names, whole non-negative seconds, byte-sequence keys', () => {
    const key = new TextEncoder().encode('client-7');
    const field = rateLimitHeader([{ name: 'per "user" \\ key', remaining: -3, resetSeconds: 29.2, partitionKey: key }]);
    expect(field).toBe('"per \\"user\\" \\\\ key";r=0;t=30;pk=:Y2xpZW50LTc=:');
    const [name, params] = parseList(field)[0] as [string, Map<string, unknown>];
    expect(name).toBe('per "user" \\ key');
    expect(params.get('r')).toBe(0);
    expect(params.get('t')).toBe(30);
    expect(new TextDecoder().decode(params.get('pk') as ArrayBuffer)).toBe('client-7');
    expect(() => rateLimitHeader([{ name: 'café', remaining: 1 }])).toThrow();
  });
});

describe('Retry-After', () => {
  it('is never earlier than the limiter allows, and jitter only adds', () => {
    expect(retryAfterSeconds(0)).toBe(1);
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
    expect(retryAfterSeconds(29_500, 5, () => 0)).toBe(30);
    expect(retryAfterSeconds(29_500, 5, () => 0.999)).toBe(35);
    const seen = new Set(Array.from({ length: 200 }, (_, i) => retryAfterSeconds(10_000, 3, () => i / 200)));
    expect([...seen].sort()).toEqual([10, 11, 12, 13]);
  });

  it('comes with an RFC 9457 problem body', () => {
    expect(tooManyRequestsProblem(30)).toEqual({
      type: 'about:blank',
      title: 'Too Many Requests',
      status: 429,
      detail: 'the rate limit for this client is exhausted',
      retryAfter: 30,
    });
  });
});
