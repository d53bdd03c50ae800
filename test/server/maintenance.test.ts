import { afterEach, describe, expect, it } from 'vitest';
import { harness, TOKEN } from './harness.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 1);
const at = (minutes: number) => new Date(T0 + minutes * MIN).toISOString();
const auth = { authorization: `Bearer ${TOKEN}` };

/** The harness (api and cache, checked every second) with a config window on cache from minute 60 to 90. */
async function withWindows() {
  const h = await harness({
    token: true,
    yaml: (t) => `${t}
maintenance:
  - { name: cache-move, title: 'Cache <move>', start: '${at(60)}', end: '${at(90)}', components: [cache] }
`,
  });
  open.push(h.close);
  return h;
}

describe('/api/maintenance', () => {
  it('lists the config windows with their next occurrence, and makes windows only with the token', async () => {
    const h = await withWindows();
    const list = (await h.app.inject('/api/maintenance')).json();
    expect(list.windows).toEqual([
      expect.objectContaining({
        name: 'cache-move',
        source: 'config',
        components: ['cache'],
        availability: 'exclude',
        inProgress: false,
        occurrence: { start: at(60), end: at(90) },
      }),
    ]);
    const body = { name: 'api-deploy', title: 'Deploy', start: at(10), end: at(20), components: ['api'], by: 'alice' };
    const post = (payload: unknown, headers: Record<string, string> = auth) =>
      h.app.inject({ method: 'POST', url: '/api/maintenance', headers, payload: payload as object });
    expect((await post(body, {})).statusCode).toBe(401);
    const created = await post(body);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ name: 'api-deploy', source: 'api', createdBy: 'alice', createdAt: at(0) });
    expect(created.body).not.toContain(TOKEN);
    expect((await post(body)).statusCode).toBe(409);
    expect((await post({ ...body, name: 'cache-move' })).json()).toEqual({
      error: 'maintenance window cache-move is in the config: change it there',
    });
  });

  it('answers 400 with every problem at its path, and never lets a window rewrite recorded availability', async () => {
    const h = await withWindows();
    await h.clock.advance(30 * MIN);
    const post = (payload: unknown) => h.app.inject({ method: 'POST', url: '/api/maintenance', headers: auth, payload: payload as object });
    const bad = await post({ name: 'x', title: '', cron: '0 25 * * *', components: ['nope'], extra: 1 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      error: 'invalid maintenance window',
      details: [
        'title: must not be empty',
        'cron: invalid cron expression: Invalid value for hour: 25',
        'extra: unknown key; expected one of name, title, description, start, end, cron, duration, timezone, components, tags, availability',
        'duration: required with cron: how long each occurrence lasts',
      ],
    });
    expect((await post({ name: 'y', title: 'Y', start: at(0), end: at(40), components: ['api'] })).json().details).toEqual([
      'start: must not be in the past: a window cannot change availability already recorded',
    ]);
    expect((await post({ name: 'z', title: 'Z', start: at(31), end: at(40), components: ['nope'] })).json().details).toEqual([
      'components[0]: no component named "nope"',
    ]);
    const array = { ...auth, 'content-type': 'application/json' };
    expect((await h.app.inject({ method: 'POST', url: '/api/maintenance', headers: array, payload: '[1]' })).statusCode).toBe(400);
    // a recurring window made now begins now, not in the past
    const weekly = await post({ name: 'weekly', title: 'Weekly', cron: '0 * * * *', duration: '10m' });
    expect(weekly.statusCode).toBe(201);
    expect(weekly.json()).toMatchObject({ start: at(30), occurrence: { start: at(60), end: at(70) } });
  });

  it('puts covered components in maintenance, leaves its time out of their figures, and ends or deletes an API window', async () => {
    const h = await withWindows();
    const post = (payload: object) => h.app.inject({ method: 'POST', url: '/api/maintenance', headers: auth, payload });
    expect((await post({ name: 'later', title: 'Later', start: at(200), end: at(210) })).statusCode).toBe(201);
    expect((await post({ name: 'soon', title: 'Soon', start: at(30), end: at(120), components: ['api'] })).statusCode).toBe(201);
    await h.clock.advance(75 * MIN);
    const status = (await h.app.inject('/api/maintenance/cache-move')).json();
    expect(status).toMatchObject({ inProgress: true });
    expect(h.monitor.status().map((s) => [s.name, s.maintenance])).toEqual([
      ['api', ['soon']],
      ['cache', ['cache-move']],
    ]);
    const figures = (await h.app.inject('/api/components/cache')).json().figures['1h'];
    expect(figures.maintenanceSeconds).toBe(15 * 60);
    expect(figures.availability).toBe(1);

    const del = (name: string) => h.app.inject({ method: 'DELETE', url: `/api/maintenance/${name}`, headers: auth });
    expect((await del('later')).json()).toEqual({ deleted: true, window: null });
    const ended = (await del('soon')).json();
    expect(ended).toMatchObject({ deleted: false, window: { name: 'soon', end: at(75), inProgress: false, occurrence: null } });
    expect(h.monitor.status().find((s) => s.name === 'api')?.maintenance).toEqual([]);
    // the 45 minutes it covered stay left out
    expect((await h.app.inject('/api/components/api')).json().figures['24h'].maintenanceSeconds).toBe(45 * 60);
    expect((await del('cache-move')).statusCode).toBe(409);
    expect((await del('nothing')).statusCode).toBe(404);
    expect((await h.app.inject('/api/maintenance')).json().windows.map((w: { name: string }) => w.name)).toEqual(['cache-move', 'soon']);
  });

  it('is shown on the status page: the window, escaped, and the components in it', async () => {
    const h = await withWindows();
    const before = (await h.app.inject('/')).body;
    expect(before).toContain('<strong>Scheduled:</strong> Cache &lt;move&gt;');
    expect(before).toContain('affects cache');
    await h.clock.advance(61 * MIN);
    h.world.cache = 'unhealthy';
    await h.clock.advance(10_000);
    const during = (await h.app.inject('/')).body;
    expect(during).toContain('<strong>In progress:</strong> Cache &lt;move&gt;');
    expect(during).toContain('<span class="mnt">maintenance</span>');
    expect(during).toContain('Scheduled maintenance in progress'); // cache is down, but in maintenance
  });
});
