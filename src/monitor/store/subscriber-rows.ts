import type { Kysely, Selectable } from 'kysely';
import { chunks } from './compaction.js';
import type { Database, SubscribersTable } from './schema.js';
import type { SubscriberKind, SubscriberRecord, SubscriberStore } from './types.js';

/** What a pending confirmation applies once confirmed. */
interface Pending {
  components: string[] | null;
  secret: string | null;
}

const parseList = (json: string | null) => (json === null ? null : (JSON.parse(json) as string[]));

function record(r: Selectable<SubscribersTable>): SubscriberRecord {
  return {
    id: r.id,
    kind: r.kind as SubscriberKind,
    address: r.address,
    secret: r.secret,
    components: parseList(r.components),
    confirmedAt: r.confirmed_ms,
    createdAt: r.created_ms,
    pendingSince: r.confirm_ms,
  };
}

/** The {@link SubscriberStore} on a kysely database: statements that are atomic alone, so two instances may share it. */
export class SubscriberRows implements SubscriberStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async request(r: Parameters<SubscriberStore['request']>[0]): Promise<boolean> {
    const pending = JSON.stringify({ components: r.components === null ? null : [...r.components], secret: r.secret } satisfies Pending);
    const fresh = { confirm_hash: r.confirmHash, confirm_ms: r.at, pending };
    const inserted = await this.#db
      .insertInto('subscribers')
      .values({ kind: r.kind, address: r.address, created_ms: r.at, ...fresh })
      .onConflict((oc) => oc.columns(['kind', 'address']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return true;
    // one statement: of two requests at once, one replaces the confirmation
    const updated = await this.#db
      .updateTable('subscribers')
      .set(fresh)
      .where('kind', '=', r.kind)
      .where('address', '=', r.address)
      .where((eb) => eb.or([eb('confirm_ms', 'is', null), eb('confirm_ms', '<=', r.at - r.resendAfter)]))
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) > 0;
  }

  async confirm(hash: string, notBefore: number, at: number): Promise<SubscriberRecord | undefined> {
    const row = await this.#db
      .selectFrom('subscribers')
      .selectAll()
      .where('confirm_hash', '=', hash)
      .where('confirm_ms', '>=', notBefore)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const pending = JSON.parse(row.pending ?? '{}') as Partial<Pending>;
    const set = {
      components: pending.components === undefined || pending.components === null ? null : JSON.stringify(pending.components),
      secret: pending.secret ?? row.secret,
      confirmed_ms: row.confirmed_ms ?? at,
      confirm_hash: null,
      confirm_ms: null,
      pending: null,
    };
    // only if still pending under this hash: a second click finds nothing to confirm
    const done = await this.#db
      .updateTable('subscribers')
      .set(set)
      .where('id', '=', row.id)
      .where('confirm_hash', '=', hash)
      .executeTakeFirst();
    if (Number(done.numUpdatedRows) === 0) return undefined;
    return record({ ...row, ...set });
  }

  async addTokens(tokens: ReadonlyArray<{ hash: string; subscriberId: number; at: number }>): Promise<void> {
    for (const part of chunks(tokens.map((t) => ({ hash: t.hash, subscriber_id: t.subscriberId, created_ms: t.at }))))
      await this.#db.insertInto('subscriber_tokens').values(part).execute();
  }

  async unsubscribe(hash: string): Promise<boolean> {
    const token = await this.#db.selectFrom('subscriber_tokens').select('subscriber_id').where('hash', '=', hash).executeTakeFirst();
    return token === undefined ? false : this.remove(token.subscriber_id);
  }

  async list(): Promise<SubscriberRecord[]> {
    return (await this.#db.selectFrom('subscribers').selectAll().orderBy('id').execute()).map(record);
  }

  async remove(id: number): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom('subscriber_tokens').where('subscriber_id', '=', id).execute();
      const gone = await trx.deleteFrom('subscribers').where('id', '=', id).executeTakeFirst();
      return Number(gone.numDeletedRows) > 0;
    });
  }

  async claimNotice(key: string, at: number): Promise<boolean> {
    const result = await this.#db
      .insertInto('subscriber_notices')
      .values({ key, sent_ms: at })
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async noticed(key: string): Promise<boolean> {
    return (await this.#db.selectFrom('subscriber_notices').select('key').where('key', '=', key).executeTakeFirst()) !== undefined;
  }

  async prune(options: { pendingBefore: number; before: number }): Promise<void> {
    const { pendingBefore, before } = options;
    await this.#db.transaction().execute(async (trx) => {
      const never = trx.selectFrom('subscribers').select('id').where('confirmed_ms', 'is', null).where('confirm_ms', '<', pendingBefore);
      await trx.deleteFrom('subscriber_tokens').where('subscriber_id', 'in', never).execute();
      await trx.deleteFrom('subscribers').where('confirmed_ms', 'is', null).where('confirm_ms', '<', pendingBefore).execute();
      await trx
        .updateTable('subscribers')
        .set({ confirm_hash: null, confirm_ms: null, pending: null })
        .where('confirm_ms', '<', pendingBefore)
        .execute();
      await trx.deleteFrom('subscriber_tokens').where('created_ms', '<', before).execute();
      await trx.deleteFrom('subscriber_notices').where('sent_ms', '<', before).execute();
    });
  }
}
