/**
 * The public API of ClusterKit, exported by name. Anything not listed here is internal and may change.
 */
export {
  ClusterKitError,
  type ClusterKitErrorOptions,
  type ErrorCode,
  InvalidArgumentError,
  NotLeaderError,
  ShuttingDownError,
  StorageCorruptError,
  TimeoutError,
} from './errors.js';
export type { Clock, Random, Scheduler, TimerHandle } from './util/io.js';
