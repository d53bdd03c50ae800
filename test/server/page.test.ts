import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { percent, span } from '../../src/server/page/format.js';
import { harness, TOKEN } from './harness.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

/** The harness plus an internal component and a title that needs escaping. */
async function setup() {
  const h = await harness({
    yaml: (text) =>
      text
        .replace('components:', 'page: { title: "Acme <Status>", refresh: 2s }\ncomponents:')
        .replace(
          'slos:',
          '  - name: secret-db\n    public: false\n    interval: 1s\n    timeout: 500ms\n    degradedAfter: 200ms\n    check: { type: tcp, host: 127.0.0.1, port: 3 }\nslos:',
        ),
  });
  open.push(h.close);
  return h;
}

const DAY = 86_400_000;

describe('status page', () => {
  it('renders public components with 90 day bars, escapes text, and leaves internal ones out', async () => {
    const h = await setup();
    await h.clock.advance(10 * 60_000);
    h.errors.api = '<script>alert(1)</script> refused';
    h.world.api = 'unhealthy';
    await h.clock.advance(10_000);
    const res = await h.app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    const body = res.body;
    expect(body).toContain('<title>Acme &lt;Status&gt;</title>');
    expect(body).not.toContain('<script>alert(1)');
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; refused');
    expect(body).toContain('id="c-api"');
    expect(body).toContain('id="c-cache"');
    expect(body).not.toContain('secret-db');
    expect(body.match(/<li class="d[0-3n]"/g)).toHaveLength(180); // 90 per public component
    expect(body.match(/<li class="d[0-3n]" tabindex="0"/g)).toHaveLength(2); // one tab stop each: today
    expect(body).toContain('Major outage'); // api is critical and down
    expect(body).toContain('Active incidents');
    expect((await h.app.inject('/components/secret-db')).statusCode).toBe(404);
    expect((await h.app.inject('/badge/secret-db/status.svg')).statusCode).toBe(404);
    expect((await h.app.inject('/feed.xml')).body).not.toContain('secret-db');
  });

  it("labels today's bar with the same availability and downtime as the API gives for today", async () => {
    const h = await setup();
    await h.clock.advance(10 * 60_000);
    h.world.api = 'unhealthy';
    await h.clock.advance(20_000);
    h.world.api = 'healthy';
    await h.clock.advance(5_000);
    const now = h.clock.now();
    const from = Math.floor(now / DAY) * DAY;
    const api = (await h.app.inject(`/api/components/api?from=${from}&to=${from + DAY}`)).json().figures.custom;
    expect(api.downtimeSeconds).toBeGreaterThan(0);
    const page = (await h.app.inject('/components/api')).body;
    const labels = [...page.matchAll(/aria-label="(\d{4}-\d{2}-\d{2}: [^"]*)"/g)].map((m) => m[1]);
    expect(labels).toHaveLength(90);
    const today = labels.at(-1) ?? '';
    expect(
      today.startsWith(
        `${new Date(from).toISOString().slice(0, 10)}: ${percent(api.availability)} up, ${span(api.downtimeSeconds * 1000)} down`,
      ),
    ).toBe(true);
    expect(today).toContain('; incidents: ');
  });

  it('shows every window of the API on the component page, and how much of each was unobserved', async () => {
    const h = await setup();
    await h.clock.advance(30 * 60_000);
    const api = (await h.app.inject('/api/components/cache')).json().figures;
    const page = (await h.app.inject('/components/cache')).body;
    for (const label of ['Last hour', 'Last 24 hours', 'Last 7 days', 'Last 30 days', 'All time'])
      expect(page).toContain(`<th scope="row">${label}</th>`);
    // the monitor ran 30 of the last 60 minutes: half the hour is unobserved, and the page says so
    expect(api['1h'].unobservedSeconds).toBeGreaterThan(1700);
    expect(page).toContain(`Last hour: ${span(api['1h'].unobservedSeconds * 1000)} (`);
    expect(page).toContain('<strong>unobserved</strong>');
    expect(page).toContain(`<td>${percent(api['1h'].availability)}</td>`);
  });

  it('serves shields-style badges of status and uptime, and refuses a bad window with a JSON 400', async () => {
    const h = await setup();
    await h.clock.advance(10 * 60_000);
    const status = await h.app.inject('/badge/api/status.svg');
    expect(status.statusCode).toBe(200);
    expect(status.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    expect(status.body).toContain('aria-label="api: up"');
    h.world.api = 'unhealthy';
    await h.clock.advance(5_000);
    expect((await h.app.inject('/badge/api/status.svg')).body).toContain('aria-label="api: down"');
    const uptime = await h.app.inject('/badge/api/uptime.svg?window=7d');
    const a = (await h.app.inject(`/api/components/api`)).json().figures['7d'].availability;
    expect(uptime.body).toContain(`aria-label="uptime 7d: ${percent(a)}"`);
    expect((await h.app.inject('/badge/api/uptime.svg')).body).toContain('uptime 30d:');
    for (const bad of ['?window=1y', '?window=0s', '?window=400d', '?window=%3Cx%3E', '?window=']) {
      const res = await h.app.inject(`/badge/api/uptime.svg${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error).toBe('invalid request');
    }
    expect((await h.app.inject('/badge/nope/status.svg')).statusCode).toBe(404);
  });

  it('publishes incidents as an Atom feed, newest first, resolved ones with their end', async () => {
    const h = await setup();
    await h.clock.advance(10 * 60_000);
    for (const down of [10_000, 20_000]) {
      h.world.api = 'unhealthy';
      await h.clock.advance(down);
      h.world.api = 'healthy';
      await h.clock.advance(60_000);
    }
    h.world.cache = 'unhealthy';
    await h.clock.advance(5_000);
    const res = await h.app.inject({ url: '/feed.xml', headers: { host: 'status.example' } });
    expect(res.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    const entries = [...res.body.matchAll(/<entry>(.*?)<\/entry>/g)].map((m) => m[1] ?? '');
    expect(entries).toHaveLength(3);
    expect(entries[0]).toContain('<title>cache: outage</title>');
    expect(entries[1]).toContain('<title>api: resolved</title>');
    expect(entries[1]).toContain('<link href="http://status.example/components/api"/>');
    expect(res.body.startsWith('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">')).toBe(true);
  });

  it('shows public updates and the postmortem under their incident, newest first and escaped, never internal ones, at once', async () => {
    const h = await harness({ token: true, yaml: (text) => text.replace('components:', 'page: { refresh: 2s }\ncomponents:') });
    open.push(h.close);
    await h.clock.advance(10 * 60_000);
    h.world.api = 'unhealthy';
    await h.clock.advance(5_000);
    const before = (await h.app.inject('/')).body; // rendered and kept for up to a second
    const [incident] = (await h.app.inject('/api/incidents')).json().items;
    const write = (method: 'POST' | 'PUT', path: string, payload: object) =>
      h.app.inject({ method, url: `/api/incidents/${incident.id}/${path}`, payload, headers: { authorization: `Bearer ${TOKEN}` } });
    const first = (
      await write('POST', 'updates', { message: 'Checkout <b>fails</b> for some', visibility: 'public', status: 'investigating' })
    ).json();
    await h.clock.advance(100);
    expect((await write('POST', 'updates', { message: 'SECRET: db-2 is the culprit', visibility: 'internal' })).statusCode).toBe(201);
    await h.clock.advance(100);
    const second = (await write('POST', 'updates', { message: 'A fix is rolling out', visibility: 'public', status: 'monitoring' })).json();
    expect((await write('PUT', 'postmortem', { url: 'https://wiki.example.com/pm?a=1&b="2"' })).statusCode).toBe(200);
    await h.clock.advance(300); // past the 250 ms between renders, well inside the second a page is kept

    expect(before).not.toContain('Checkout');
    for (const path of ['/', '/components/api']) {
      const body = (await h.app.inject(path)).body;
      expect(body, path).not.toContain('SECRET');
      expect(body, path).toContain('Checkout &lt;b&gt;fails&lt;/b&gt; for some');
      expect(body, path).toContain('<a href="https://wiki.example.com/pm?a=1&amp;b=%222%22" rel="noopener">Postmortem</a>');
      expect(body.indexOf('A fix is rolling out'), path).toBeLessThan(body.indexOf('Checkout &lt;b&gt;'));
      expect(body, path).toContain(`<time datetime="${second.time}">`);
      expect(body, path).toContain('<strong class="us">Monitoring</strong>');
    }
    const feed = (await h.app.inject({ url: '/feed.xml', headers: { host: 'status.example' } })).body;
    expect(feed).not.toContain('SECRET');
    const entries = [...feed.matchAll(/<entry>(.*?)<\/entry>/g)].map((m) => m[1] ?? '');
    expect(entries.map((e) => /<id>(.*?)<\/id>/.exec(e)?.[1])).toEqual([
      `http://status.example/incidents/${incident.id}/updates/${second.id}`,
      `http://status.example/incidents/${incident.id}/updates/${first.id}`,
      `http://status.example/incidents/${incident.id}`,
    ]);
    expect(entries[0]).toContain('<title>api: monitoring</title>');
    expect(entries[0]).toContain(`<updated>${second.time}</updated>`);
    expect(entries[1]).toContain('<summary>Checkout &lt;b&gt;fails&lt;/b&gt; for some</summary>');
    expect(entries[2]).toContain('<link rel="related" href="https://wiki.example.com/pm?a=1&amp;b=%222%22"/>');
    expect(feed).toContain(`<updated>${second.time}</updated><author>`); // the feed's own time is its newest entry's
  });

  it('links the feed to page.url when set, whatever Host a request carries', async () => {
    const h = await harness({ yaml: (text) => text.replace('components:', 'page: { url: "https://status.acme.example/" }\ncomponents:') });
    open.push(h.close);
    const body = (await h.app.inject({ url: '/feed.xml', headers: { host: 'evil.example' } })).body;
    expect(body).toContain('<link rel="self" href="https://status.acme.example/feed.xml"/>');
    expect(body).not.toContain('evil.example');
  });

  it('compresses the page for clients that accept it', async () => {
    const h = await setup();
    await h.clock.advance(60_000);
    const plain = await h.app.inject('/');
    expect(plain.headers['content-encoding']).toBeUndefined();
    for (const [accept, encoding, decode] of [
      ['gzip, deflate', 'gzip', gunzipSync],
      ['gzip;q=0.5, br', 'br', brotliDecompressSync],
    ] as const) {
      const res = await h.app.inject({ url: '/', headers: { 'accept-encoding': accept } });
      expect(res.headers['content-encoding'], accept).toBe(encoding);
      expect(res.headers.vary).toBe('accept-encoding');
      expect(res.rawPayload.length).toBeLessThan(plain.rawPayload.length / 4);
      expect(decode(res.rawPayload).toString()).toBe(plain.body);
    }
  });

  it('serves one render to every viewer until a status changes, with an ETag for 304s', async () => {
    const h = await harness(); // refresh 10s: a page is reused for up to 5 s unless a status changes
    open.push(h.close);
    await h.clock.advance(60_000);
    const first = await h.app.inject('/');
    const etag = String(first.headers.etag);
    await h.clock.advance(900);
    const again = await h.app.inject('/');
    expect(again.headers.etag).toBe(etag);
    expect(again.body).toBe(first.body);
    const unchanged = await h.app.inject({ url: '/', headers: { 'if-none-match': etag } });
    expect(unchanged.statusCode).toBe(304);
    expect(unchanged.body).toBe('');
    h.world.api = 'unhealthy';
    await h.clock.advance(1_000); // the next check fails: the page shows it at once
    const down = await h.app.inject({ url: '/', headers: { 'if-none-match': etag } });
    expect(down.statusCode).toBe(200);
    expect(down.headers.etag).not.toBe(etag);
    const head = (body: string) => /data-k="h-api">(.*?)<\/div>/s.exec(body)?.[1] ?? '';
    expect(head(first.body)).toContain('st-healthy');
    expect(head(down.body)).toContain('st-unhealthy');
    expect(head((await h.app.inject('/components/api')).body)).toContain('st-unhealthy');
    h.world.api = 'healthy';
    await h.clock.advance(1_000);
    expect(head((await h.app.inject('/components/api')).body)).toContain('st-healthy');
  });
});
