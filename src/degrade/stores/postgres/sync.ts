import type { Unsubscribe } from '../../../core/events.js';
import type { FlagSet } from '../../flags/flag-set.js';
import type { FlagDefinition } from '../../flags/schema.js';
import type { PostgresFlagStore } from './flag-store.js';

/** Keeps `flags` equal to what `store` holds, from now on (start the store after, or call it once started). */
export function syncFlags(store: PostgresFlagStore<FlagDefinition>, flags: FlagSet): Unsubscribe {
  if (store.flags.size > 0) flags.replace(Object.fromEntries(store.flags));
  const offReplace = store.on('replace', (all) => flags.replace(Object.fromEntries(all)));
  const offChange = store.on('change', ({ name, flag }) => {
    if (flag === undefined) flags.remove(name);
    else flags.set(name, flag);
  });
  return () => {
    offReplace();
    offChange();
  };
}
