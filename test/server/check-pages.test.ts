/** `GET /api/components/:name/checks` pages by an opaque cursor: checks of one millisecond neither split nor repeat. */
import { afterEach, describe, expect, it } from 'vitest';
import { harness } from './harness.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

describe('checks API pages', () => {
  it('covers every check once, in order, following next through 1,000 checks of one millisecond', async () => {
    const h = await harness();
    open.push(h.close);
    await h.clock.advance(30_000); // the monitor's own checks, one a second
    const tie = h.clock.now() - 3_600_000;
    const checks = Array.from({ length: 1_000 }, (_, i) => ({ component: 'cache', time: tie, durationMs: i, status: 'healthy' as const }));
    await h.store.write({ checks, opened: [], resolved: [], gaps: [], states: [] });
    await h.monitor.flush(); // as the route does
    const total = (await h.store.checkStats('cache', 0, h.clock.now() + 1)).total;
    const seen: Array<{ timeMs: number; durationMs: number }> = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const res = await h.app.inject(`/api/components/cache/checks?limit=7${next === null ? '' : `&before=${next}`}`);
      expect(res.statusCode).toBe(200);
      const body = res.json() as { items: Array<{ timeMs: number; durationMs: number }>; next: string | null };
      seen.push(...body.items);
      next = body.next;
      pages++;
    } while (next !== null);
    expect(seen).toHaveLength(total);
    expect(pages).toBe(Math.ceil(total / 7));
    const tied = seen.filter((c) => c.timeMs === tie).map((c) => c.durationMs);
    expect(tied).toEqual(checks.map((c) => c.durationMs).reverse());
    for (let i = 1; i < seen.length; i++) expect(seen[i]?.timeMs).toBeLessThanOrEqual(seen[i - 1]?.timeMs as number);
  });

  it.each([
    'MTczNTY5MDIwNzA4NToxMjE1x', // not what the API made
    'MTIzOmFiYw', // "123:abc"
    'MDE6Mg', // "01:2", not canonical
    'a'.repeat(61),
    '%20',
  ])('answers a bad cursor %s with a 400 JSON', async (cursor) => {
    const h = await harness();
    open.push(h.close);
    const res = await h.app.inject(`/api/components/cache/checks?before=${cursor}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid request', details: [{ in: 'querystring', path: 'before' }] });
  });
});
