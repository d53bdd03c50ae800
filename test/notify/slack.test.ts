/**
 * The Slack notifier against a real receiver on loopback: the exact Block Kit message for a
 * firing and a resolved group, capped at Slack's 50 blocks; a 429's Retry-After waited for on a
 * fake clock; a receiver down retried, counted and kept as a dead letter, the URL (the
 * credential) nowhere in it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/alerts/lifecycle.js';
import { type Clock, ManualClock } from '../../src/core/clock.js';
import { SLACK_MAX_BLOCKS, type SlackMessage } from '../../src/notify/slack.js';
import { alertEvent, cleanups, counted, hookReceiver, notifierSetup, T } from '../support/notify.js';

const cleanup = cleanups();
afterEach(cleanup.run);

const TOKEN = 'T0000/B0000/s3cr3tT0k3nXXXXXXXXXXXX';
const figures = () => ({ availability: 0.99912, budgetRemaining: 0.4231, burnRates: { '5m': 14.4, '1h': 6.0234, '6h': null } });
const slack = (url: string, extra = '') =>
  `  receivers: [{ name: chat, slack: { url: '${url}'${extra} }, group: { wait: 0s, interval: 0s } }]\n`;
const messages = (got: Array<{ body: string }>) => got.map((r) => JSON.parse(r.body) as SlackMessage);

const field = (text: string) => ({ type: 'mrkdwn', text });
const context = { type: 'context', elements: [field('<https://status.example.com|Status page> · sent by nines')] };

describe('Slack notifications', () => {
  it('posts one Block Kit message per group flush: header, a section of fields per alert, a link to the status page', async () => {
    const hook = await hookReceiver(cleanup, () => 200);
    const { notifier, registry } = await notifierSetup(cleanup, slack(`${hook.url}/${TOKEN}`).replace('wait: 0s', 'wait: 30s'), {
      figures,
    });
    notifier.notify(alertEvent('firing', 'page'));
    notifier.notify(alertEvent('firing', 'ticket'));
    await notifier.settle();
    notifier.notify(alertEvent('resolved', 'page', T + 90_000));
    await notifier.settle();
    const [firing, resolved] = messages(hook.got);
    const since = ['*Since*\n2026-06-01 12:00 UTC'];
    const figureFields = ['*Availability*\n99.912 %', '*Budget remaining*\n42.3 %', '*Burn rates*\n5m 14.4, 1h 6.02'];
    const section = (severity: string, kind: string, icon: string, times: string[]) => ({
      type: 'section',
      text: field(`${icon} *<https://status.example.com/components/api|NinesErrorBudgetBurn>* ${kind}: burning`),
      fields: ['*Component*\napi', '*SLO*\napi-slo', `*Severity*\n${severity}`, ...times, ...figureFields].map(field),
    });
    expect(firing).toEqual({
      text: [
        '[FIRING:2] NinesErrorBudgetBurn api-slo',
        ':fire: NinesErrorBudgetBurn firing: Component api, SLO api-slo, Severity page, Since 2026-06-01 12:00 UTC, Availability 99.912 %, Budget remaining 42.3 %, Burn rates 5m 14.4, 1h 6.02',
        ':fire: NinesErrorBudgetBurn firing: Component api, SLO api-slo, Severity ticket, Since 2026-06-01 12:00 UTC, Availability 99.912 %, Budget remaining 42.3 %, Burn rates 5m 14.4, 1h 6.02',
        '<https://status.example.com|Status page> · sent by nines',
      ].join('\n'),
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: '[FIRING:2] NinesErrorBudgetBurn api-slo', emoji: true } },
        section('page', 'firing', ':fire:', since),
        section('ticket', 'firing', ':fire:', since),
        context,
      ],
    });
    expect(resolved?.blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: '[RESOLVED] NinesErrorBudgetBurn api-slo', emoji: true } },
      section('page', 'resolved', ':white_check_mark:', ['*Resolved*\n2026-06-01 12:01 UTC']),
      context,
    ]);
    expect(hook.got[0]?.headers['content-type']).toBe('application/json');
    expect(await counted(registry, 'chat', 'delivered')).toBe(2);
  });

  it(`caps a message at Slack's ${SLACK_MAX_BLOCKS} blocks, saying how many more, and escapes what alerts carry`, async () => {
    const hook = await hookReceiver(cleanup, () => 200);
    const { notifier } = await notifierSetup(cleanup, slack(hook.url).replace('wait: 0s', 'wait: 30s'));
    for (let i = 0; i < 60; i++) notifier.notify(alertEvent('firing', 'page', T, `c${i}`));
    const odd: AlertEvent = alertEvent('firing', 'page', T, 'x<y>&z');
    odd.alert.annotations = { summary: '<!channel> & <https://evil.example|click>' };
    notifier.notify(odd);
    await notifier.settle();
    const [message] = messages(hook.got);
    expect(message?.blocks).toHaveLength(SLACK_MAX_BLOCKS);
    expect(message?.blocks.at(-2)).toEqual({ type: 'section', text: field('…and 14 more') }); // 61 alerts, 47 shown
    expect(message?.blocks.at(-1)).toEqual(context);
    expect(message?.text.split('\n').at(-2)).toBe('…and 14 more');

    hook.got.length = 0;
    notifier.notify({ ...odd, kind: 'repeat' });
    await notifier.settle();
    const [escaped] = messages(hook.got);
    expect(escaped?.blocks[1]).toMatchObject({
      text: field(
        ':fire: *<https://status.example.com/components/x%3Cy%3E%26z|NinesErrorBudgetBurn>* still firing: &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;',
      ),
      fields: expect.arrayContaining([field('*Component*\nx&lt;y&gt;&amp;z')]),
    });
  });

  it('waits the Retry-After of a 429 before trying again, on the clock it is given', async () => {
    const hook = await hookReceiver(cleanup, (n) => (n === 1 ? { status: 429, headers: { 'retry-after': '120' } } : 200));
    const manual = new ManualClock(T);
    let sleeping: () => void = () => undefined;
    const asleep = new Promise<void>((resolve) => {
      sleeping = resolve;
    });
    // the manual clock, telling when the retry policy starts its two-minute wait
    const clock: Clock = {
      now: () => manual.now(),
      setTimeout: (fn, ms) => {
        if (ms === 120_000) sleeping();
        return manual.setTimeout(fn, ms);
      },
    };
    const { notifier, registry } = await notifierSetup(cleanup, slack(hook.url, ', retryDelay: 1ms'), { clock });
    notifier.notify(alertEvent('firing', 'page'));
    await asleep;
    await manual.advance(119_999);
    expect(hook.got).toHaveLength(1);
    await manual.advance(1);
    await hook.waitFor(2);
    await notifier.delivered();
    expect(await counted(registry, 'chat', 'delivered')).toBe(1);
  });

  it('keeps a dead letter at once for a Retry-After longer than five minutes, rather than retrying too soon', async () => {
    const hook = await hookReceiver(cleanup, () => ({ status: 429, headers: { 'retry-after': '3600' } }));
    const { notifier, store } = await notifierSetup(cleanup, slack(hook.url, ', retryDelay: 1ms'));
    notifier.notify(alertEvent('firing', 'page'));
    await notifier.settle();
    expect(hook.got).toHaveLength(1);
    expect(await store.deadLetters({ limit: 5 })).toMatchObject([{ receiver: 'chat', attempts: 1, error: 'receiver answered 429' }]);
  });

  it('retries a receiver that is down, counts the failure and keeps a dead letter without the URL', async () => {
    const down = await hookReceiver(cleanup, () => 503);
    const { notifier, store, registry } = await notifierSetup(
      cleanup,
      `  receivers:
    - { name: down, slack: { url: '${down.url}/${TOKEN}', maxAttempts: 3, retryDelay: 1ms }, group: { wait: 0s } }
    - { name: gone, slack: { url: 'http://127.0.0.1:1/${TOKEN}', maxAttempts: 2, retryDelay: 1ms, timeout: 1s }, group: { wait: 0s } }
`,
    );
    notifier.notify(alertEvent('firing', 'page'));
    await notifier.settle();
    expect(down.got).toHaveLength(3);
    const letters = (await store.deadLetters({ limit: 5 })).sort((a, b) => a.receiver.localeCompare(b.receiver));
    expect(letters).toMatchObject([
      { receiver: 'down', attempts: 3, error: 'receiver answered 503' },
      { receiver: 'gone', attempts: 2, error: expect.stringMatching(/ECONNREFUSED|connect/) },
    ]);
    expect(JSON.parse(letters[0]?.body ?? '{}')).toMatchObject({ text: expect.stringContaining('[FIRING:1] NinesErrorBudgetBurn') });
    for (const l of letters) {
      expect(JSON.stringify(l)).not.toContain(TOKEN);
      expect(JSON.stringify(l)).not.toContain('s3cr3t');
    }
    expect(await counted(registry, 'down', 'dead_letter')).toBe(1);
    expect(await counted(registry, 'gone', 'dead_letter')).toBe(1);
    expect(await counted(registry, 'down', 'delivered')).toBe(0);
  });
});
