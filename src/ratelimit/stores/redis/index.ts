export {
  type InsuranceMode,
  type RedisInsuranceOptions,
  RedisStore,
  type RedisStoreClient,
  type RedisStoreOptions,
  redisStore,
} from './redis-store.js';
