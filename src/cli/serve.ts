import { pino } from 'pino';
import { AlertEvaluator } from '../alerts/evaluator.js';
import { Silences } from '../alerts/silences.js';
import { maintenanceSilencer, silencers } from '../alerts/silencing.js';
import { configuredKey } from '../backup/backup.js';
import { BackupSchedules } from '../backup/schedules.js';
import { formatDuration, formatProblems, loadConfig, storageSchema, storageUrl } from '../config/index.js';
import { systemClock } from '../core/clock.js';
import { redactText } from '../core/redact.js';
import { GracefulShutdown } from '../lifecycle/index.js';
import { createMetricsRegistry } from '../metrics/index.js';
import { ServedHa, type SingletonJob } from '../monitor/ha/served.js';
import { monitorEventMetrics } from '../monitor/metrics.js';
import { Monitor } from '../monitor/monitor.js';
import { createProbe } from '../monitor/probe.js';
import { openStore } from '../monitor/store/index.js';
import { Notifier } from '../notify/notifier.js';
import { SubscriberChannels } from '../notify/subscriber-channels.js';
import { SubscriberUpdates } from '../notify/subscriber-updates.js';
import { Subscriptions } from '../notify/subscriptions.js';
import { buildApp } from '../server/app.js';
import { openServedDegradation } from '../server/degradation.js';
import { openServedFlags } from '../server/flags.js';
import { servedLivenessWatchdog } from '../server/liveness.js';
import { SERVE_SHUTDOWN, serveDrainDelayMs } from './serve-shutdown.js';
import { EXIT_INVALID, loadOrReport, type Output, processOutput } from './validate.js';

/** The leases of the jobs one instance of an HA cluster runs (component names cannot hold a `:`). */
const HA_ALERTS = 'nines:alerts';
const HA_BACKUPS = 'nines:backups';
const HA_JOBS = [HA_ALERTS, HA_BACKUPS];

/** Options of `nines serve`. */
export interface ServeOptions {
  /** Config file to load. */
  config: string;
}

/**
 * `nines serve`: runs the monitor and its HTTP service until SIGTERM/SIGINT (graceful: readiness
 * goes false, in-flight requests finish, the last results are flushed). SIGHUP reloads the config.
 * Returns an exit code when it cannot start, undefined once it is running.
 */
export async function serve(
  options: ServeOptions,
  output: Output = processOutput,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number | undefined> {
  const config = await loadOrReport(options.config, output, env);
  if (config === undefined) return EXIT_INVALID;
  try {
    await configuredKey({ config: config.backup, env }); // a backup key that cannot be read is a config problem
  } catch (error) {
    output.err((error as Error).message);
    return EXIT_INVALID;
  }
  const logger = pino({ level: env.NINES_LOG_LEVEL ?? 'info', base: { service: 'nines' } });
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(storageUrl(config), { schema: storageSchema(config), readTimeoutMs: config.storageReadTimeout });
  } catch (error) {
    output.err(`storage: cannot open: ${(error as Error).message}`);
    return 1;
  }
  const registry = createMetricsRegistry({ defaultMetrics: true });
  // several instances on one database share the components (docs/high-availability.md)
  const ha =
    config.ha === undefined
      ? undefined
      : ServedHa.open({
          ha: config.ha,
          components: config.components.map((c) => c.name),
          jobs: HA_JOBS,
          url: storageUrl(config),
          schema: storageSchema(config),
          claimNotice: (key, at) => store.subscribers.claimNotice(key, at),
          registry,
          onError: (error) =>
            logger.error({ error: redactText(error.message) }, 'ha: a heartbeat or a read of the store failed; will retry'),
          onChange: (e) =>
            e.kind === 'ready'
              ? (e.ready ? logger.info : logger.warn).call(
                  logger,
                  { instance: config.ha?.instance },
                  e.ready ? 'ha: leases renewed, checking' : 'ha: leases not renewed in time, checking nothing',
                )
              : logger.debug(e, `ha: lease ${e.kind}`),
        });
  const sourceAddress = config.ha?.sourceAddress;
  const confirm = ha?.confirmation;
  const monitor = new Monitor({
    config,
    store,
    ownership: ha,
    ...(confirm === undefined ? {} : { confirm }),
    ...(sourceAddress === undefined ? {} : { probe: (c, clock) => createProbe(c, { clock, sourceAddress }) }),
    onError: (error, during) => logger.error({ during, error: (error as Error).message }, `${during} failed; will retry`),
  });
  monitorEventMetrics(registry, monitor);
  monitor.on('incidentOpened', (e) => logger.warn(e, 'incident opened'));
  monitor.on('incidentResolved', (e) => logger.info({ ...e, downtimeMs: e.end - e.start }, 'incident resolved'));
  monitor.on('flapping', (e) => logger.warn(e, e.flapping ? 'component is flapping' : 'component stopped flapping'));
  monitor.on('connectivity', (e) =>
    e.suspect
      ? logger.warn(e, "the monitor's own network is suspect: failures are recorded as unobserved time and alerts are held")
      : logger.info(e, "the monitor's network is trusted again"),
  );
  monitor.on('dropped', (e) =>
    logger.warn(e, 'store unwritable for long: dropped the oldest buffered check results (incidents and gaps are kept)'),
  );
  monitor.on('leftOut', (e) =>
    e.duplicates > 0
      ? logger.error(e, 'ha: checks of slots already stored were not written (two instances checked one slot)')
      : logger.warn(e, 'ha: rows recorded under a lease since taken over were not written'),
  );
  monitor.on('locations', (e) =>
    logger.info(e, e.applied ? `ha: the other locations confirmed the ${e.kind}` : `ha: the ${e.kind} is held back by the other locations`),
  );
  // the store's message is free of passwords; the row itself is not logged
  monitor.on('rejected', (e) =>
    logger.error({ kind: e.kind, component: e.component, error: (e.error as Error).message }, 'store refused a row; set aside'),
  );

  const silences = new Silences({
    store,
    now: () => systemClock.now(),
    onError: (error) => logger.error({ error: (error as Error).message }, 'silences: cannot read the store; will retry'),
  });
  const backups = new BackupSchedules({
    context: { config: config.backup, env },
    registry,
    onError: (target, error) => logger.error({ target, error: redactText((error as Error).message) }, 'backup: a scheduled backup failed'),
    onDrillFailed: (target, error) =>
      logger.error({ target, error: redactText((error as Error).message) }, 'backup: a scheduled restore drill failed'),
  });
  const alerts = new AlertEvaluator({
    config: () => monitor.config,
    backups: {
      lastSuccess: (target) => backups.state(target)?.lastSuccess,
      drill: (target) => {
        const state = backups.state(target);
        return { lastSuccess: state?.lastDrillSuccess, lastFailed: state?.lastDrill?.ok === false };
      },
    },
    history: monitor.history,
    statuses: () => monitor.status(),
    store,
    silencedBy: silencers(
      maintenanceSilencer(monitor.maintenance, () => monitor.config.components),
      silences.silencer,
    ),
    connectivity: () => monitor.connectivity(),
    // several instances: an announcement is a unique row first, so a takeover never pages twice
    ...(ha === undefined ? {} : { claim: ha.claim }),
    onError: (error, during) => logger.error({ during, error: (error as Error).message }, `alerts: ${during} failed; will retry`),
  });
  const notifier = new Notifier({
    config: config.notify,
    store,
    baseUrl: config.page.url ?? '',
    registry,
    figures: (e) => {
      const slo = monitor.config.slos.find((s) => s.name === e.alert.labels.slo);
      const f = slo === undefined ? undefined : monitor.history.runningSlo(slo, e.at);
      return f === undefined
        ? undefined
        : { availability: f.figures.availability, budgetRemaining: f.budgetRemaining, burnRates: f.burnRates };
    },
    onError: (error, receiver) => logger.error({ receiver, error: (error as Error).message }, 'notify: delivery failed'),
  });
  alerts.on('alert', (e) => notifier.notify(e));
  alerts.on('evaluated', (e) => notifier.evaluated(e));
  alerts.on('alert', (e) =>
    (e.kind === 'resolved' ? logger.info : logger.warn).call(
      logger,
      { kind: e.kind, labels: e.alert.labels },
      `alert ${e.kind}: ${e.alert.labels.alertname}`,
    ),
  );

  // status page subscribers: errors name the subscriber's id, never its address
  const channels = new SubscriberChannels({
    config: () => monitor.config,
    registry,
    onError: (error, c) => logger.warn({ ...c, error: error.message }, 'subscribers: a message was not delivered'),
  });
  const subscriptions = new Subscriptions({
    config: () => monitor.config,
    store,
    channels,
    onError: (error) => logger.error({ error: (error as Error).message }, 'subscribers: confirmation failed'),
  });
  const updates = new SubscriberUpdates({
    config: () => monitor.config,
    store,
    channels,
    maintenance: monitor.maintenance,
    incident: (id) => monitor.history.incident(id),
    ...(ha === undefined ? {} : { claim: ha.claim }),
    onError: (error, during) => logger.error({ during, error: (error as Error).message }, `subscribers: ${during} failed; will retry`),
  });
  updates.watch(monitor);

  // 1 once the liveness watchdog stopped it: a supervisor restarts a failed process, not a clean exit
  let exitCode = 0;
  const shutdown = new GracefulShutdown({
    drainDelay: serveDrainDelayMs(env),
    timeout: SERVE_SHUTDOWN.timeoutMs,
    hookTimeout: SERVE_SHUTDOWN.hookTimeoutMs,
    logger,
    exit: (code) => process.exit(Math.max(code, exitCode)),
  });
  let level: Awaited<ReturnType<typeof openServedDegradation>>;
  try {
    level = await openServedDegradation(config, { registry, clock: systemClock, store });
  } catch (error) {
    output.err(`degradation: cannot open the shared level's table: ${redactText((error as Error).message)}`);
    await store.close();
    return 1;
  }
  const degradation = level.degradation;
  let flags: Awaited<ReturnType<typeof openServedFlags>>;
  try {
    flags = await openServedFlags(config, { registry, clock: systemClock, level: degradation.manager.current });
  } catch (error) {
    output.err(`flags: cannot open the flag store: ${redactText((error as Error).message)}`);
    await level.close();
    await store.close();
    return 1;
  }
  const app = await buildApp({
    flags: flags.flags,
    degradation,
    monitor,
    registry,
    shutdown,
    alerts,
    silences,
    deadLetters: (limit) => store.deadLetters({ limit }),
    subscriptions,
    backups,
    ha,
  });
  await monitor.start();
  /** Undoes a start that failed half-way; exit code 1. */
  const abandon = async (): Promise<number> => {
    await ha?.stop().catch(() => undefined);
    await alerts.stop();
    await backups.stop();
    await updates.stop();
    await monitor.stop();
    await flags.close();
    await level.close();
    await store.close();
    shutdown.dispose();
    return 1;
  };
  const startBackups = () =>
    backups
      .start()
      .catch((error: unknown) => logger.error({ error: redactText((error as Error).message) }, 'backup: cannot read the repository'));
  await silences
    .load()
    .catch((error: unknown) => logger.error({ error: (error as Error).message }, 'silences: cannot read the store; will retry'));
  if (ha === undefined) {
    await startBackups();
    alerts.start();
  } else {
    // one instance evaluates the alerts and runs the scheduled backups: the one holding their lease
    const jobs: SingletonJob[] = [
      { name: HA_ALERTS, start: () => alerts.start(), stop: () => alerts.stop() },
      { name: HA_BACKUPS, start: startBackups, stop: () => backups.stop() },
    ];
    try {
      await ha.start(monitor, jobs);
    } catch (error) {
      output.err(`ha: cannot start: ${redactText((error as Error).message)}`);
      return abandon();
    }
  }
  updates.start();
  try {
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (error) {
    output.err(`server: cannot listen on ${config.server.host}:${config.server.port}: ${(error as Error).message}`);
    return abandon();
  }
  // hooks run in reverse: stop the monitor (flushing its last batch), then close the store
  shutdown
    .addServer(app.server)
    .addHook('store', () => store.close())
    .addHook('flags', async () => {
      await level.close();
      await flags.close();
    })
    .addHook('monitor', () => monitor.stop())
    .addHook('notify', () => notifier.settle())
    .addHook('subscribers', async () => {
      await Promise.all([updates.stop(), subscriptions.settle()]);
      await channels.close();
    })
    .addHook('alerts', () => alerts.stop())
    .addHook('backups', () => backups.stop());
  // at once, with the drain: stop checking, write the last results, release the leases so peers
  // take over while this one still drains its HTTP traffic (registered without ha too, so every
  // stop runs the same hooks SERVE_SHUTDOWN counts)
  shutdown.addHook(
    'ha',
    async () => {
      await ha?.stop();
    },
    { atDrain: true },
  );
  const { exitAfter } = config.server.liveness;
  servedLivenessWatchdog({
    liveness: config.server.liveness,
    monitor,
    onFailed: (problems) => {
      if (shutdown.shuttingDown) return;
      logger.error(
        { problems, exitAfter },
        `liveness has failed for ${formatDuration(exitAfter)} (${problems.join('; ')}): exiting so the supervisor restarts it`,
      );
      exitCode = 1;
      void shutdown.shutdown('liveness');
    },
  }).start();
  process.on('SIGHUP', () => {
    void loadConfig(options.config, { env }).then(async (next) => {
      if (!next.ok) {
        logger.error({ problems: formatProblems(next.problems) }, 'config reload rejected; keeping the running config');
        return;
      }
      await monitor.reload(next.config);
      ha?.reload();
      notifier.reload(next.config.notify);
      await flags.flags
        .reload(next.config.flags)
        .catch((error: unknown) => logger.error({ error: (error as Error).message }, 'flags: cannot seed the flag store'));
      logger.info({ components: next.config.components.length, receivers: next.config.notify.receivers.length }, 'config reloaded');
    });
  });
  const url = `http://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${config.server.port}`;
  output.out(
    `nines is watching ${config.components.length} components; status and API at ${url}/ (health: ${url}/health, API: ${url}/api/components)`,
  );
  return undefined;
}
