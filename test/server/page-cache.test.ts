import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/policy/index.js';
import { MIN_PAGE_AGE, PageCache } from '../../src/server/page/cache.js';

/** A cache and a render that counts its calls and can be held open. */
function setup() {
  const clock = new ManualClock(1_000_000);
  const cache = new PageCache(clock);
  let renders = 0;
  let hold: Promise<void> | undefined;
  const render = async () => {
    renders += 1;
    await hold;
    return `<p>render ${renders} at ${clock.now()}</p>`.repeat(50);
  };
  return { clock, cache, render, renders: () => renders, holdWith: (p: Promise<void> | undefined) => (hold = p) };
}

describe('PageCache', () => {
  it('shares one render among concurrent requests and reuses it until maxAge', async () => {
    const t = setup();
    let release = () => {};
    t.holdWith(new Promise<void>((r) => (release = r)));
    const crowd = Array.from({ length: 20 }, () => t.cache.get('/', 'up', 5_000, t.render));
    release();
    const pages = await Promise.all(crowd);
    expect(t.renders()).toBe(1);
    expect(new Set(pages).size).toBe(1);
    t.holdWith(undefined);
    await t.clock.advance(4_999);
    expect(await t.cache.get('/', 'up', 5_000, t.render)).toBe(pages[0]);
    await t.clock.advance(1);
    const next = await t.cache.get('/', 'up', 5_000, t.render);
    expect(t.renders()).toBe(2);
    expect(next.etag).not.toBe(pages[0]?.etag);
  });

  it('renders anew as soon as the state changed, but not more often than MIN_PAGE_AGE', async () => {
    const t = setup();
    const first = await t.cache.get('/', 'up', 5_000, t.render);
    await t.clock.advance(MIN_PAGE_AGE - 1);
    expect(await t.cache.get('/', 'down', 5_000, t.render)).toBe(first);
    await t.clock.advance(1);
    const down = await t.cache.get('/', 'down', 5_000, t.render);
    expect(down).not.toBe(first);
    expect(down.state).toBe('down');
    expect(t.renders()).toBe(2);
  });

  it('keeps pages apart by path, forgets them on clear, and retries after a failed render', async () => {
    const t = setup();
    const index = await t.cache.get('/', 'up', 5_000, t.render);
    const component = await t.cache.get('/components/api', 'up', 5_000, t.render);
    expect(component).not.toBe(index);
    expect(await t.cache.get('/', 'up', 5_000, t.render)).toBe(index);
    t.cache.clear();
    expect(await t.cache.get('/', 'up', 5_000, t.render)).not.toBe(index);
    const failing = () => Promise.reject(new Error('store down'));
    await t.clock.advance(5_000);
    await expect(t.cache.get('/', 'up', 5_000, failing)).rejects.toThrow('store down');
    expect((await t.cache.get('/', 'up', 5_000, t.render)).body.toString()).toContain(`at ${t.clock.now()}`);
  });

  it('compresses a page once per encoding, to the same bytes', async () => {
    const t = setup();
    const page = await t.cache.get('/', 'up', 5_000, t.render);
    const br = await page.encoded('br');
    expect(await page.encoded('br')).toBe(br);
    expect(br.length).toBeLessThan(page.body.length / 10);
    expect(brotliDecompressSync(br).equals(page.body)).toBe(true);
    expect(gunzipSync(await page.encoded('gzip')).equals(page.body)).toBe(true);
    expect(page.etag).toMatch(/^W\/"[A-Za-z0-9_-]{27}"$/);
  });
});
