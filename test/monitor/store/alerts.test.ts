/** Pending and firing alerts in the store, on SQLite and PostgreSQL: upserted, deleted, and still there after a reopen (a restart). */
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../../src/monitor/store/index.js';
import { openStore } from '../../../src/monitor/store/open.js';
import { backends } from './backends.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const firing: AlertRecord = {
  fingerprint: 'aaaa000000000001',
  labels: { alertname: 'NinesErrorBudgetBurn', severity: 'page', slo: 'api', component: 'api', 'odd key': 'é "quoted"' },
  annotations: { summary: 'SLO api is spending its error budget too fast' },
  state: 'firing',
  activeAt: 1_780_000_000_000,
  firedAt: 1_780_000_000_000,
  sentAt: 1_780_000_600_000,
};
const pending: AlertRecord = {
  fingerprint: 'bbbb000000000002',
  labels: { alertname: 'NinesErrorBudgetBurn', severity: 'ticket', slo: 'api', component: 'api' },
  annotations: {},
  state: 'pending',
  activeAt: 1_780_000_100_000,
};

describe.each(backends)('alerts in the store on $name', (backend) => {
  it.skipIf(backend.skip)('are saved, updated and deleted in one call each, and survive a reopen', async () => {
    const location = await backend.create();
    cleanup.push(() => location.dispose());
    const options = location.schema === undefined ? {} : { schema: location.schema };
    const store = await openStore(location.url, options);
    await store.migrate();
    expect(await store.alerts()).toEqual([]);
    await store.saveAlerts({ put: [pending, firing], remove: [] });
    expect(await store.alerts()).toEqual([firing, { ...pending, firedAt: undefined, sentAt: undefined }]);
    const fired = { ...pending, state: 'firing' as const, firedAt: 1_780_000_200_000, sentAt: 1_780_000_200_000 };
    await store.saveAlerts({ put: [fired], remove: [firing.fingerprint] });
    await store.close();

    const again = await openStore(location.url, options);
    cleanup.push(() => again.close());
    await again.migrate();
    expect(await again.alerts()).toEqual([fired]);
    await again.saveAlerts({ put: [], remove: [fired.fingerprint, 'unknown'] });
    expect(await again.alerts()).toEqual([]);
  });
});
