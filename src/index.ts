// The library entry: re-exports the library modules. The monitor, server and CLI are not here.
export * from './policy/index.js';
