/** The API's maintenance windows in the store, on SQLite and PostgreSQL: added, replaced, deleted, and still there after a reopen. */
import { afterEach, describe, expect, it } from 'vitest';
import type { MaintenanceRecord } from '../../../src/monitor/store/index.js';
import { openStore } from '../../../src/monitor/store/open.js';
import { backends } from './backends.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const upgrade: MaintenanceRecord = {
  name: 'db-upgrade',
  spec: { name: 'db-upgrade', title: 'DB "upgrade" é', start: '2026-12-07T00:30:00Z', end: '2026-12-07T01:00:00Z', components: ['db'] },
  createdAt: 1_780_000_000_000,
  createdBy: 'alice',
};
const weekly: MaintenanceRecord = {
  name: 'weekly',
  spec: { name: 'weekly', title: 'Weekly', cron: '0 2 * * sun', duration: '2h', start: '2026-12-07T00:00:00Z' },
  createdAt: 1_780_000_100_000,
  createdBy: undefined,
};

describe.each(backends)('maintenance windows in the store on $name', (backend) => {
  it.skipIf(backend.skip)('are added, replaced and deleted, oldest first, and survive a reopen', async () => {
    const location = await backend.create();
    cleanup.push(() => location.dispose());
    const options = location.schema === undefined ? {} : { schema: location.schema };
    const store = await openStore(location.url, options);
    await store.migrate();
    expect(await store.maintenance()).toEqual([]);
    await store.putMaintenance(weekly);
    await store.putMaintenance(upgrade);
    expect(await store.maintenance()).toEqual([upgrade, weekly]);
    const ended = { ...upgrade, spec: { ...upgrade.spec, end: '2026-12-07T00:40:00Z' } };
    await store.putMaintenance(ended);
    await store.close();

    const again = await openStore(location.url, options);
    cleanup.push(() => again.close());
    await again.migrate();
    expect(await again.maintenance()).toEqual([ended, weekly]);
    expect(await again.deleteMaintenance('weekly')).toBe(true);
    expect(await again.deleteMaintenance('weekly')).toBe(false);
    expect(await again.maintenance()).toEqual([ended]);
  });
});
