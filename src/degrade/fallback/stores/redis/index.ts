export { type RedisCacheClient, RedisCacheStore, type RedisCacheStoreOptions, redisCacheStore } from './redis-cache-store.js';
