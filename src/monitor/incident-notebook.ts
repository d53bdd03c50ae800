import type { Clock } from '../core/clock.js';
import { Events } from '../core/events.js';
import type { IncidentRecord, IncidentUpdateRecord, Store, UpdateStatus, UpdateVisibility } from './store/types.js';

/** An update as a person writes it; the time is the clock's. */
export interface UpdateInput {
  message: string;
  visibility: UpdateVisibility;
  status?: UpdateStatus | undefined;
  by?: string | undefined;
}

/** Events a notebook emits: `update` once an update is stored (status page subscribers hear of the public ones). */
export interface NotebookEvents {
  update: IncidentUpdateRecord;
}

/**
 * What people write on the incidents the monitor opened: acknowledgements, updates and postmortem
 * links, into the store. It remembers which open incidents are acknowledged, so the alert
 * evaluator can read it synchronously (no reminders for them).
 */
export class IncidentNotebook extends Events<NotebookEvents> {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #flush: () => Promise<void>;
  /** Component to the start of its acknowledged incident: a later incident has another start, so it is not acknowledged. */
  readonly #acknowledged = new Map<string, number>();
  #revision = 0;

  constructor(options: { store: Store; clock: Clock; flush: () => Promise<void> }) {
    super();
    this.#store = options.store;
    this.#clock = options.clock;
    this.#flush = options.flush;
  }

  /** Grows with every change, so a rendered status page knows it is stale. */
  get revision(): number {
    return this.#revision;
  }

  /** Reads the acknowledged open incidents from the store (at start). */
  async restore(): Promise<void> {
    for (const a of await this.#store.acknowledgedOpen()) this.#acknowledged.set(a.component, a.start);
  }

  /** Is the incident of `component` that started at `openSince` (its open one) acknowledged? */
  acknowledged(component: string, openSince: number | undefined): boolean {
    return openSince !== undefined && this.#acknowledged.get(component) === openSince;
  }

  /** Acknowledges incident `id` (the first acknowledgement stands); undefined when there is none. */
  async acknowledge(id: number, by: string | undefined): Promise<IncidentRecord | undefined> {
    await this.#flush(); // the incident may still be in the write buffer
    const incident = await this.#store.acknowledgeIncident(id, { at: this.#clock.now(), by: by ?? null });
    if (incident?.end === null) this.#acknowledged.set(incident.component, incident.start);
    return this.#changed(incident);
  }

  /** Adds an update to incident `id`; undefined when there is none. */
  async addUpdate(id: number, update: UpdateInput): Promise<IncidentUpdateRecord | undefined> {
    await this.#flush();
    const { message, visibility } = update;
    const stored = await this.#store.addIncidentUpdate({
      incidentId: id,
      time: this.#clock.now(),
      visibility,
      status: update.status ?? null,
      message,
      by: update.by ?? null,
    });
    if (stored !== undefined) this.emit('update', stored);
    return this.#changed(stored);
  }

  /** Links incident `id` to its postmortem (replacing an earlier link); undefined when there is none. */
  async setPostmortem(id: number, url: string): Promise<IncidentRecord | undefined> {
    await this.#flush();
    return this.#changed(await this.#store.setPostmortem(id, url));
  }

  #changed<T>(result: T): T {
    if (result !== undefined) this.#revision++;
    return result;
  }
}
