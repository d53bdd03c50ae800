export { LoadShedError } from './errors.js';
export { type Admission, type Admitted, LoadShedder, type LoadShedderOptions, type Shed } from './load-shedder.js';
export { type EventLoopReading, eventLoopReading, type LoopReading } from './loop-reading.js';
export type { LoadShedMetrics, ShedderMetrics } from './metrics-sink.js';
export {
  type LoadShedHandler,
  type LoadShedHandlerOptions,
  loadShedHandler,
  shedResponse,
} from './middleware.js';
export { DEFAULT_LEVELS, PRIORITIES, type Priority, SHED_REASONS, type ShedReason } from './priority.js';
