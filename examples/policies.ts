// `npm run demo:policies`: a live demo of the policies. A fake dependency goes through a healthy phase, an
// outage and a recovery; every call goes through compose(fallback, retry, breaker, timeout) and
// the terminal shows retries and breaker state changes as they happen. Ctrl-C stops it early.
import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitBreaker, compose, fallback, isNinesError, retry, timeout } from '../src/index.js';

const phases = [
  { name: 'healthy', seconds: 3, failRate: 0.05, latencyMs: 20 },
  { name: 'outage', seconds: 6, failRate: 0.9, latencyMs: 400 },
  { name: 'recovering', seconds: 6, failRate: 0.1, latencyMs: 30 },
];
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const log = (line: string) => console.log(`${elapsed()}  ${line}`);

let phase = phases[0] ?? { name: 'healthy', seconds: 1, failRate: 0, latencyMs: 1 };

/** The flaky dependency: fails at the phase's rate and is slow during the outage. */
async function dependency({ signal, attempt }: { signal: AbortSignal; attempt: number }): Promise<string> {
  await sleep(phase.latencyMs * (0.5 + Math.random()), undefined, { signal });
  if (Math.random() < phase.failRate) throw new Error(`dependency failed (attempt ${attempt})`);
  return 'ok';
}

const breaker = new CircuitBreaker({ name: 'dependency', mode: 'count', windowSize: 10, minimumThroughput: 5, openDuration: 1500 });
const retries = retry({ name: 'dependency', maxAttempts: 3, backoff: { type: 'exponential', initial: 50, max: 400, jitter: 'full' } });
const policy = compose(fallback('fallback'), retries, breaker, timeout(250));

breaker.on('stateChange', ({ from, to }) => log(`breaker ${from} -> ${to}`));
retries.on('retry', ({ attempt, delayMs, outcome }) => {
  const why = outcome.ok ? 'bad result' : isNinesError(outcome.error) ? outcome.error.code : (outcome.error as Error).message;
  log(`  retry #${attempt} in ${Math.round(delayMs)} ms after: ${why}`);
});
retries.on('giveUp', ({ reason }) => log(`  retry gave up (${reason})`));

const tally = { ok: 0, fallback: 0 };
let stop = false;
process.once('SIGINT', () => {
  stop = true;
});

for (const p of phases) {
  phase = p;
  log(`--- phase: ${p.name} (fail rate ${p.failRate * 100} %, latency ~${p.latencyMs} ms)`);
  const end = Date.now() + p.seconds * 1000;
  while (!stop && Date.now() < end) {
    const result = await policy.execute(dependency);
    tally[result === 'ok' ? 'ok' : 'fallback']++;
    await sleep(100);
  }
}
const s = breaker.stats();
log(`done: ${tally.ok} answered, ${tally.fallback} served by the fallback`);
log(`breaker: ${s.calls} calls let through, ${s.failures} failures, ${s.rejections} rejected while open`);
