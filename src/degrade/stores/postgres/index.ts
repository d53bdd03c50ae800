export {
  type ChangeAuthor,
  type FlagAuditRecord,
  type FlagStoreEvents,
  PostgresFlagStore,
  type PostgresFlagStoreOptions,
  type StoredFlagChange,
} from './flag-store.js';
