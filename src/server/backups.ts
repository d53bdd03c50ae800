import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { checkDestination, repositoryOf, verifyBackup } from '../backup/backup.js';
import { BackupError } from '../backup/errors.js';
import type { Manifest } from '../backup/manifest.js';
import type { BackupSchedules } from '../backup/schedules.js';
import { InvalidOptionError } from '../core/errors.js';
import { problemsOf } from '../degrade/flags/schema.js';
import { writeRoute } from './auth.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import { iso } from './time.js';

/** A backup as the API shows it: what it is and where it came from, never a key (the manifest holds none). */
const backupView = (m: Manifest) => ({
  id: m.id,
  target: m.target,
  kind: m.kind,
  type: m.type,
  parent: m.parent,
  startedAt: m.startedAt,
  endedAt: m.endedAt,
  sizes: m.sizes,
  encryption: m.encryption,
  artifacts: m.artifacts.length,
});

const createSchema = z.strictObject({ target: z.string().min(1), type: z.enum(['full', 'incremental']).default('full') });
const drillSchema = createSchema.pick({ target: true });
const restoreSchema = z.strictObject({ to: z.string().min(1), force: z.boolean().default(false) });
const pruneSchema = z.strictObject({ target: z.string().min(1).optional(), confirm: z.boolean().default(false) });

const ID = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 200 } } } as const;

/** A backup failure as an HTTP error: 404 for an unknown target or id, 422 for a corrupt backup (naming the file), 500 never. */
function httpOf(error: unknown): HttpError {
  if (!(error instanceof BackupError)) throw error;
  if (error.code === 'NINES_BACKUP_NOT_FOUND') return new HttpError(404, error.message);
  return new HttpError(422, error.message, error.file === undefined ? [] : [`file: ${error.file}`]);
}

/**
 * `/api/backups` (bearer token for all of it: the list names databases and paths): each target's
 * last backup and the repository's complete backups; `POST` starts a backup of a target (202: it
 * runs in the background, `GET` shows how it went); `POST /api/backups/:id/verify` checks one;
 * `POST /api/backups/drill` starts a restore drill of a target (202; `GET` shows its report as the target's `lastDrill`);
 * `POST /api/backups/:id/restore` starts a restore (202; `GET` shows it as the target's `lastRestore`);
 * `POST /api/backups/prune` applies `backup.retention` (a dry run unless `confirm`).
 */
export function backupRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const need = (): BackupSchedules => {
    if (ctx.backups === undefined) throw new HttpError(404, 'no backups are configured');
    return ctx.backups;
  };

  app.get('/api/backups', writeRoute(ctx.monitor), async () => {
    const backups = need();
    const list = await repositoryOf(backups.context).list();
    return {
      targets: backups.states().map((s) => ({
        ...s,
        lastSuccess: iso(s.lastSuccess),
        lastId: s.lastId ?? null,
        lastError: s.lastError ?? null,
        lastDrill: s.lastDrill ?? null,
        lastDrillSuccess: iso(s.lastDrillSuccess),
        lastRestore: s.lastRestore ?? null,
      })),
      backups: list.map(backupView),
    };
  });

  /** The target a `POST` names: 400 for a bad body, 404 for an unknown target, 409 while `what` of it runs. */
  const requested = (body: unknown, what: 'backup' | 'drill') => {
    const backups = need();
    const parsed = (what === 'backup' ? createSchema : drillSchema).safeParse(body);
    if (!parsed.success) throw new HttpError(400, `invalid ${what} request`, problemsOf(parsed.error));
    const { target, type = 'full' }: { target: string; type?: 'full' | 'incremental' } = parsed.data;
    const state = backups.state(target);
    if (state === undefined) throw new HttpError(404, `no backup target named ${JSON.stringify(target)}`);
    if (what === 'backup' ? state.running : state.drilling) throw new HttpError(409, `a ${what} of ${target} is already running`);
    return { backups, target, type };
  };

  app.post('/api/backups', writeRoute(ctx.monitor), async (request, reply) => {
    const { backups, target, type } = requested(request.body, 'backup');
    if (type === 'incremental' && backups.context.config.targets[target]?.type !== 'files')
      throw new HttpError(400, `incremental backups are for files targets only; ${target} is not one`);
    backups
      .run(target, { type })
      .catch((error: unknown) => request.log.error({ target, error: (error as Error).message }, 'backup failed'));
    return reply.code(202).send({ target, type, running: true });
  });

  app.post('/api/backups/drill', writeRoute(ctx.monitor), async (request, reply) => {
    const { backups, target } = requested(request.body, 'drill');
    backups.drill(target).then(
      (report) => {
        if (!report.ok) request.log.error({ target, differences: report.differences }, 'drill: the restore differs from the backup');
      },
      (error: unknown) => request.log.error({ target, error: (error as Error).message }, 'drill failed'),
    );
    return reply.code(202).send({ target, drilling: true });
  });

  app.post<{ Params: { id: string } }>(
    '/api/backups/:id/verify',
    { schema: { params: ID }, ...writeRoute(ctx.monitor) },
    async (request) => {
      const backups = need();
      try {
        return { ok: true, backup: backupView(await verifyBackup(backups.context, request.params.id)) };
      } catch (error) {
        throw httpOf(error);
      }
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/backups/:id/restore',
    { schema: { params: ID }, ...writeRoute(ctx.monitor) },
    async (request, reply) => {
      const backups = need();
      const parsed = restoreSchema.safeParse(request.body);
      if (!parsed.success) throw new HttpError(400, 'invalid restore request', problemsOf(parsed.error));
      const { to, force } = parsed.data;
      let manifest: Manifest;
      try {
        manifest = await repositoryOf(backups.context).get(request.params.id);
        checkDestination(manifest, to);
      } catch (error) {
        if (error instanceof BackupError && error.code === 'NINES_RESTORE_REFUSED') throw new HttpError(400, error.message);
        throw httpOf(error);
      }
      if (backups.state(manifest.target)?.restoring) throw new HttpError(409, `a restore of ${manifest.target} is already running`);
      const { target, id } = manifest;
      void backups.restore(manifest, to, force).then((report) => {
        if (!report.ok) request.log.error({ target, id, error: report.error }, 'restore failed');
      });
      return reply.code(202).send({ id, target, restoring: true });
    },
  );

  app.post('/api/backups/prune', writeRoute(ctx.monitor), async (request) => {
    const backups = need();
    const parsed = pruneSchema.safeParse(request.body ?? {});
    if (!parsed.success) throw new HttpError(400, 'invalid prune request', problemsOf(parsed.error));
    const { target, confirm } = parsed.data;
    if (backups.context.config.retention === undefined)
      throw new HttpError(400, 'no backup.retention is configured: set it to say which backups to keep');
    if (target !== undefined && backups.state(target) === undefined)
      throw new HttpError(404, `no backup target named ${JSON.stringify(target)}`);
    // a kept incremental whose parent is gone: the repository needs a look, not a 500
    const plan = await backups.prune(target, confirm).catch((error: unknown) => {
      throw error instanceof InvalidOptionError ? new HttpError(422, error.message) : error;
    });
    return { confirm, decisions: plan.decisions.map((d) => ({ id: d.backup.id, keep: d.keep, reasons: d.reasons })) };
  });
}
