import type { ComponentConfig } from '../config/index.js';
import { covers, type MaintenanceBook, maintenanceSilence } from '../monitor/maintenance.js';

/** What silences an alert with `labels` at `now`: ids such as `maintenance:<name>` or `silence:<id>`. */
export type Silencer = (labels: Readonly<Record<string, string>>, now: number) => string[];

/**
 * Silences by maintenance: an alert of a component (its `component` label, which burn-rate alerts
 * carry too) is silenced by every window in progress that covers the component; an alert of no
 * component only by a window covering every component.
 */
export function maintenanceSilencer(book: MaintenanceBook, components: () => readonly Pick<ComponentConfig, 'name' | 'tags'>[]): Silencer {
  return (labels, now) => {
    const name = labels.component;
    const component = name === undefined ? undefined : components().find((c) => c.name === name);
    const scope = component ?? { name: '', tags: [] }; // no component: only the windows covering all
    return book
      .all()
      .filter((w) => covers(w, scope) && book.occurrences(w, now, now + 1).length > 0)
      .map((w) => maintenanceSilence(w.name));
  };
}

/** Every silencer's ids, in order. */
export function silencers(...all: Silencer[]): Silencer {
  return (labels, now) => all.flatMap((s) => s(labels, now));
}
