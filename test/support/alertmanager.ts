import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startReadyDaemon } from './e2e.js';

export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

/** True when Alertmanager is installed; false (after a loud warning) when not and CI is unset. */
export function hasAlertmanager(): boolean {
  if (existsSync(ALERTMANAGER)) return true;
  if (process.env.CI) return true; // the tests run and fail, naming what is missing
  console.warn(`\n*** SKIPPING the Alertmanager tests: ${ALERTMANAGER} is missing (apt-get install -y prometheus-alertmanager) ***\n`);
  return false;
}

/** An alert as Alertmanager's GET /api/v2/alerts lists it. */
export interface AmAlert {
  labels: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

/** Starts an Alertmanager that routes everything to a receiver that sends nothing. */
export async function startAlertmanager(): Promise<{ base: string; alerts: () => Promise<AmAlert[]>; stop: () => void }> {
  const { base, stop } = await startReadyDaemon('Alertmanager', ALERTMANAGER, (dir, listen) => {
    writeFileSync(join(dir, 'alertmanager.yml'), `route: { receiver: 'null', group_wait: 1s }\nreceivers: [{ name: 'null' }]\n`);
    return [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=${listen}`,
      '--cluster.listen-address=',
    ];
  });
  const alerts = async () => (await (await fetch(`${base}/api/v2/alerts`)).json()) as AmAlert[];
  return { base, alerts, stop };
}
