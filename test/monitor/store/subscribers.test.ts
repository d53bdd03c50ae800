/**
 * Subscribers in the store, on SQLite and PostgreSQL: asked for, confirmed once, asked again
 * (confirmed settings kept until the new ones are confirmed, no second mail within resendAfter),
 * unsubscribed by a message's token, removed, pruned; notices claimed once; all after a reopen.
 */
import { describe, expect, it } from 'vitest';
import { backends, useStores } from './backends.js';

const T = Date.UTC(2026, 5, 1, 12);
const MIN = 60_000;
const ask = (address: string, confirmHash: string, at: number, components: string[] | null = null) => ({
  kind: 'email' as const,
  address,
  components,
  secret: null,
  confirmHash,
  at,
  resendAfter: 5 * MIN,
});

describe.each(backends)('subscribers in the store on $name', (backend) => {
  const stores = useStores(backend);

  it.skipIf(backend.skip)('are confirmed once, keep their settings until a new request is confirmed, and survive a reopen', async () => {
    const store = await stores.open();
    const rows = store.subscribers;
    expect(await rows.request(ask('ada@example.com', 'h1', T, ['api']))).toBe(true);
    expect(await rows.request(ask('ada@example.com', 'h1b', T + MIN))).toBe(false); // within resendAfter: no new mail
    expect(await rows.confirm('h1b', T - MIN, T + MIN)).toBeUndefined();
    expect(await rows.confirm('h1', T + 1, T + MIN)).toBeUndefined(); // asked before notBefore: expired
    const confirmed = await rows.confirm('h1', T, T + 2 * MIN);
    expect(confirmed).toEqual({
      id: expect.any(Number),
      kind: 'email',
      address: 'ada@example.com',
      secret: null,
      components: ['api'],
      confirmedAt: T + 2 * MIN,
      createdAt: T,
      pendingSince: null,
    });
    expect(await rows.confirm('h1', T, T + 3 * MIN)).toBeUndefined(); // a second click confirms nothing

    // asked again: a new confirmation, the old settings stay in force until it is confirmed
    expect(await rows.request(ask('ada@example.com', 'h2', T + 3 * MIN, null))).toBe(true);
    expect((await rows.list())[0]).toMatchObject({ components: ['api'], confirmedAt: T + 2 * MIN, pendingSince: T + 3 * MIN });
    await store.close();

    const again = await stores.open();
    const [ada] = await again.subscribers.list();
    expect(await again.subscribers.confirm('h2', T, T + 4 * MIN)).toMatchObject({ components: null, confirmedAt: T + 2 * MIN });
    await again.subscribers.addTokens([
      { hash: 't1', subscriberId: ada?.id ?? 0, at: T + 5 * MIN },
      { hash: 't2', subscriberId: ada?.id ?? 0, at: T + 6 * MIN },
    ]);
    expect(await again.subscribers.unsubscribe('nope')).toBe(false);
    expect(await again.subscribers.unsubscribe('t1')).toBe(true);
    expect(await again.subscribers.unsubscribe('t2')).toBe(false); // its tokens went with it
    expect(await again.subscribers.list()).toEqual([]);
  });

  it.skipIf(backend.skip)('keeps webhooks apart from e-mail, removes by id, and prunes what expired', async () => {
    const rows = (await stores.open()).subscribers;
    await rows.request(ask('bob@example.com', 'hb', T));
    await rows.request({ ...ask('https://hooks.example.com/x', 'hw', T), kind: 'webhook', secret: 's3cret' });
    await rows.request(ask('old@example.com', 'ho', T - 2 * 86_400_000));
    expect(await rows.confirm('hw', T, T)).toMatchObject({ kind: 'webhook', secret: 's3cret' });
    const [bob, hook, old] = await rows.list();
    await rows.addTokens([
      { hash: 'old-token', subscriberId: hook?.id ?? 0, at: T - 100 * 86_400_000 },
      { hash: 'new-token', subscriberId: hook?.id ?? 0, at: T },
    ]);
    await rows.prune({ pendingBefore: T - 86_400_000, before: T - 90 * 86_400_000 });
    expect((await rows.list()).map((s) => s.address)).toEqual(['bob@example.com', 'https://hooks.example.com/x']);
    expect(old).toBeDefined();
    expect(await rows.unsubscribe('old-token')).toBe(false);
    expect(await rows.remove(bob?.id ?? 0)).toBe(true);
    expect(await rows.remove(bob?.id ?? 0)).toBe(false);
    expect(await rows.unsubscribe('new-token')).toBe(true);
    expect(await rows.list()).toEqual([]);
  });

  it.skipIf(backend.skip)('claims a notice once', async () => {
    const rows = (await stores.open()).subscribers;
    expect(await rows.noticed('maintenance:db:1:started')).toBe(false);
    expect(await rows.claimNotice('maintenance:db:1:started', T)).toBe(true);
    expect(await rows.claimNotice('maintenance:db:1:started', T + 1)).toBe(false);
    expect(await rows.noticed('maintenance:db:1:started')).toBe(true);
  });
});
