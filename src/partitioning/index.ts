/**
 * Partitioning: key → partition (Go-compatible MD5 hashing), partition → primary + replicas (placement), the
 * immutable partition table, and table diffs. See docs/PARTITIONING.md.
 */
export { diffTables, type NodeChange, type PartitionChange, type TableDiff } from './diff.js';
export {
  DEFAULT_PARTITION_COUNT,
  HANDWRITTEN_MD5_MAX_LENGTH,
  hashKey,
  hashKeyCreateHash,
  hashKeyCrypto,
  hashKeyHandwritten,
  MAX_PARTITION_COUNT,
  parsePartitionId,
  partitionForKey,
  partitionId,
  partitionIdForKey,
} from './hash.js';
export { md5 } from './md5.js';
export { MAX_MEMBERS, type Member } from './members.js';
export { computePlacement, type PlacementOptions, type PlacementStrategy } from './placement.js';
export {
  DEFAULT_REPLICATION_FACTOR,
  MAX_REPLICATION_FACTOR,
  type NodePartitions,
  type PartitionAssignment,
  type PartitionJSON,
  PartitionTable,
  type PartitionTableInit,
  type PartitionTableJSON,
} from './table.js';
export { computeReplicaTargets, type ReplicaTarget } from './targets.js';
