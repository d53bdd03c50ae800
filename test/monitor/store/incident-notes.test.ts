/** What people add to incidents, on SQLite and PostgreSQL: acknowledgement, postmortem link, public and internal updates, after a reopen too. */
import { describe, expect, test } from 'vitest';
import type { Store, UpdateStatus, UpdateVisibility } from '../../../src/monitor/store/index.js';
import { migrate } from '../../../src/monitor/store/migrations.js';
import { backends, batch, useStores } from './backends.js';

const T0 = Date.UTC(2026, 0, 5, 9);

/** Two incidents of api (the first resolved) and one of db, still open; their ids, oldest first. */
async function seed(store: Store): Promise<[number, number, number]> {
  await store.write(
    batch({
      opened: [
        { component: 'api', start: T0 },
        { component: 'db', start: T0 + 1000, error: 'ECONNREFUSED' },
      ],
    }),
  );
  await store.write(batch({ resolved: [{ component: 'api', start: T0, end: T0 + 60_000 }] }));
  await store.write(batch({ opened: [{ component: 'api', start: T0 + 120_000 }] }));
  const ids = (await store.incidents({ limit: 10 })).items.map((i) => i.id).reverse();
  return ids as [number, number, number];
}

describe.each(backends)('incident notes in the store on $name', (backend) => {
  const it = test.skipIf(backend.skip);
  const stores = useStores(backend);

  it('keeps the first acknowledgement, the latest postmortem and every update, newest first', async () => {
    const store = await stores.open();
    const [resolved, db, open] = await seed(store);
    const empty = { acknowledged: null, postmortem: null, updates: [] };
    expect(await store.incidentNotes([resolved, db, open, 999_999], { internal: true })).toEqual(
      new Map([
        [resolved, empty],
        [db, empty],
        [open, empty],
      ]),
    );
    expect(await store.incident(db)).toEqual({ id: db, component: 'db', start: T0 + 1000, end: null, error: 'ECONNREFUSED' });
    expect(await store.incident(999_999)).toBeUndefined();

    expect(await store.acknowledgeIncident(db, { at: T0 + 5000, by: 'Ada <ada@example.com>' })).toMatchObject({ id: db, component: 'db' });
    // a second acknowledgement changes nothing: whoever took it first has it
    expect(await store.acknowledgeIncident(db, { at: T0 + 9000, by: null })).toMatchObject({ id: db });
    expect(await store.acknowledgeIncident(999_999, { at: T0, by: null })).toBeUndefined();
    await store.acknowledgeIncident(resolved, { at: T0 + 30_000, by: null });
    expect(await store.acknowledgedOpen()).toEqual([{ component: 'db', start: T0 + 1000 }]); // resolved ones are left out

    expect(await store.setPostmortem(resolved, 'https://wiki.example.com/pm/1')).toMatchObject({ id: resolved });
    expect(await store.setPostmortem(resolved, 'https://wiki.example.com/pm/1-final')).toMatchObject({ id: resolved });
    expect(await store.setPostmortem(999_999, 'https://x.example.com/')).toBeUndefined();

    const message = `${'é'.repeat(4994)} "<b>"`; // 5000 characters, some of them two bytes
    const add = (time: number, visibility: UpdateVisibility, status: UpdateStatus | null, text: string, by: string | null) =>
      store.addIncidentUpdate({ incidentId: db, time, visibility, status, message: text, by });
    const first = await add(T0 + 6000, 'public', 'investigating', message, 'Ada');
    expect(first).toEqual({
      id: expect.any(Number),
      incidentId: db,
      time: T0 + 6000,
      visibility: 'public',
      status: 'investigating',
      message,
      by: 'Ada',
    });
    const internal = await add(T0 + 7000, 'internal', null, 'replica lag 40 s', null);
    const later = await add(T0 + 8000, 'public', 'identified', 'failover started', null);
    expect(
      await store.addIncidentUpdate({ incidentId: 999_999, time: T0, visibility: 'public', status: null, message: 'x', by: null }),
    ).toBe(undefined);
    await store.close();

    const again = await stores.open(); // a restart
    const all = await again.incidentNotes([db, resolved], { internal: true });
    expect(all.get(db)).toEqual({
      acknowledged: { at: T0 + 5000, by: 'Ada <ada@example.com>' },
      postmortem: null,
      updates: [later, internal, first],
    });
    expect(all.get(resolved)).toEqual({
      acknowledged: { at: T0 + 30_000, by: null },
      postmortem: 'https://wiki.example.com/pm/1-final',
      updates: [],
    });
    expect((await again.incidentNotes([db], { internal: false })).get(db)?.updates).toEqual([later, first]);
    expect(await again.acknowledgedOpen()).toEqual([{ component: 'db', start: T0 + 1000 }]);
  });

  it('refuses a message over 5000 characters and a visibility that is neither public nor internal', async () => {
    const store = await stores.open();
    const [id] = await seed(store);
    const update = { incidentId: id, time: T0, status: null, by: null };
    await expect(store.addIncidentUpdate({ ...update, visibility: 'public', message: 'x'.repeat(5001) })).rejects.toThrow();
    await expect(store.addIncidentUpdate({ ...update, visibility: 'secret' as 'public', message: 'x' })).rejects.toThrow();
    expect((await store.incidentNotes([id], { internal: true })).get(id)?.updates).toEqual([]);
  });

  it('adds the notes to a store of 0006 with incidents in it, which keep no acknowledgement', async () => {
    const raw = await stores.raw();
    await migrate(raw, '0006_dead_letters');
    await raw.db.insertInto('components').values({ name: 'api' }).execute();
    await raw.db.insertInto('incidents').values({ component_id: 1, start_ms: T0, end_ms: null, error: null }).execute();
    await raw.db.destroy();
    const store = await stores.open();
    const [incident] = (await store.incidents({ limit: 1 })).items;
    expect(incident).toMatchObject({ component: 'api', start: T0, end: null });
    expect((await store.incidentNotes([incident?.id ?? 0], { internal: true })).get(incident?.id ?? 0)).toEqual({
      acknowledged: null,
      postmortem: null,
      updates: [],
    });
  });
});
