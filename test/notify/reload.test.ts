/**
 * Notifier.reload on a fake clock against loopback receivers: the receivers and routes are
 * swapped at once; a group waiting for a receiver that is still there keeps waiting and goes out
 * with its new settings, one waiting for a receiver removed is sent at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { alertEvent, cleanups, counted, hookReceiver, notifierSetup, notifyConfig, T } from '../support/notify.js';

const cleanup = cleanups();
afterEach(cleanup.run);

describe('Notifier.reload', () => {
  it('swaps receivers and routes: waiting groups of kept receivers keep waiting, those of removed ones are sent first', async () => {
    const [a, a2, b, c] = await Promise.all([1, 2, 3, 4].map(() => hookReceiver(cleanup, () => 200)));
    if (!a || !a2 || !b || !c) throw new Error('no receivers');
    const clock = new ManualClock(T);
    const group = 'group: { wait: 30s, interval: 0s }';
    const { notifier, registry } = await notifierSetup(
      cleanup,
      `  receivers:
    - { name: a, webhook: { url: '${a.url}' }, ${group} }
    - { name: b, webhook: { url: '${b.url}' }, ${group} }
`,
      { clock },
    );
    notifier.notify(alertEvent('firing', 'page'));
    await clock.advance(10_000);

    notifier.reload(
      notifyConfig(`  receivers:
    - { name: a, webhook: { url: '${a2.url}' }, ${group} }
    - { name: c, webhook: { url: '${c.url}' }, ${group} }
  routes: [{ match: { severity: page }, receiver: a }, { match: { severity: page }, receiver: c }]
`),
    );
    await notifier.delivered();
    expect(b.got.map((r) => JSON.parse(r.body).status)).toEqual(['firing']); // removed: sent at once
    expect([a.got, a2.got, c.got]).toEqual([[], [], []]);
    expect(await counted(registry, 'c', 'delivered')).toBe(0); // shown before its first message

    await clock.advance(19_999);
    await notifier.delivered();
    expect(a2.got).toEqual([]); // still waiting: 30 s after its first event
    await clock.advance(1);
    await notifier.delivered();
    expect(a2.got).toHaveLength(1); // with the new URL
    expect(a.got).toEqual([]);

    notifier.notify(alertEvent('resolved', 'page', clock.now()));
    notifier.notify(alertEvent('firing', 'ticket', clock.now())); // no route takes tickets now
    await notifier.delivered();
    expect(a2.got.map((r) => JSON.parse(r.body).status)).toEqual(['firing', 'resolved']); // interval 0: at once
    await clock.advance(30_000);
    await notifier.delivered();
    expect(c.got.map((r) => JSON.parse(r.body).alerts.map((x: { status: string }) => x.status))).toEqual([['resolved']]);
    expect(b.got).toHaveLength(1);
    expect(await counted(registry, 'b', 'delivered')).toBe(1);
    expect(await counted(registry, 'c', 'delivered')).toBe(1);
  });

  it('sends at once the groups of a receiver that no longer takes messages (now an Alertmanager)', async () => {
    const hook = await hookReceiver(cleanup, () => 200);
    const clock = new ManualClock(T);
    const { notifier } = await notifierSetup(cleanup, `  receivers: [{ name: a, webhook: { url: '${hook.url}' } }]\n`, { clock });
    notifier.notify(alertEvent('firing', 'page'));
    notifier.reload(notifyConfig(`  receivers: [{ name: a, alertmanager: { urls: ['http://127.0.0.1:1'] } }]\n`));
    await notifier.delivered();
    expect(hook.got).toHaveLength(1); // at once, not 30 s later
    await clock.advance(30_000);
    await notifier.delivered();
    expect(hook.got).toHaveLength(1); // and only once
  });
});
