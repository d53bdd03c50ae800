export {
  type ChangeAuthor,
  type FlagAuditRecord,
  type FlagStoreClient,
  type FlagStoreEvents,
  type FlagStorePool,
  PostgresFlagStore,
  type PostgresFlagStoreOptions,
  type StoredFlagChange,
} from './flag-store.js';
export { syncFlags } from './sync.js';
