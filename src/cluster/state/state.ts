/**
 * The replicated cluster state and its read API.
 *
 * `ClusterState` holds everything the state machine replicates. Reads never expose internal mutable objects:
 * node and departed records, the config and the partition table are frozen (shared, never copied), lists are frozen
 * arrays cached until the next change, and custom data values are returned as copies (bytes cannot be frozen).
 *
 * Only the state machine changes a ClusterState, through `install`, which swaps in values computed beforehand, so
 * a refused or failed command can never leave a half-applied state behind.
 */
import type { PartitionTable } from '../../partitioning/index.js';
import {
  type ClusterConfig,
  type CustomDataEntry,
  type DepartedRecord,
  MAX_DEPARTED,
  type NodeRecord,
  type StateCounters,
} from './types.js';
import { compareStrings } from './validate.js';

/** A stored custom data entry (the value is owned by the state and never handed out). */
export interface StoredEntry {
  readonly value: Uint8Array;
  readonly revision: number;
  readonly updatedAt: number;
  /** UTF-8 bytes of the key + value bytes: what counts against MAX_CUSTOM_DATA_BYTES. */
  readonly size: number;
}

/** Read-only view of the cluster state, for the runtime (ClusterKit) and tests. */
export interface ClusterStateView {
  /** True once the bootstrap command has been applied. */
  readonly bootstrapped: boolean;
  /** The cluster's unique id (from bootstrap); undefined before. */
  readonly clusterId: string | undefined;
  /** Frozen; undefined before bootstrap. */
  readonly config: ClusterConfig | undefined;
  /** The partition table in force (immutable); undefined before bootstrap. */
  readonly table: PartitionTable | undefined;
  /** Increases with every state change; 0 before bootstrap. */
  readonly revision: number;
  /** Raft index of the last command that changed the state. */
  readonly lastIndex: number;
  readonly counters: StateCounters;
  readonly nodeCount: number;
  /** Members in join order (a rejoin moves a node to the end). Frozen, cached: cheap to call repeatedly. */
  nodes(): readonly NodeRecord[];
  node(id: string): NodeRecord | undefined;
  hasNode(id: string): boolean;
  /** Departed-node records, oldest first (at most MAX_DEPARTED). Frozen, cached. */
  departed(): readonly DepartedRecord[];
  departedNode(id: string): DepartedRecord | undefined;
  /** A custom data entry with a copy of its value, or undefined. */
  getCustomData(key: string): CustomDataEntry | undefined;
  /** The key's revision, 0 when absent (what `casCustomData.expectedRevision` compares with). */
  customDataRevision(key: string): number;
  /** All keys, sorted. Frozen, cached. */
  customDataKeys(): readonly string[];
  readonly customDataCount: number;
  /** Total bytes counted against the limit (UTF-8 keys + values). */
  readonly customDataBytes: number;
}

/** What `install` swaps in. Every field is optional: absent means unchanged. */
export interface StateChange {
  readonly clusterId?: string;
  readonly config?: ClusterConfig;
  readonly table?: PartitionTable;
  /** The complete new member map (built by the caller from a copy). */
  readonly nodes?: Map<string, NodeRecord>;
  /** A departed record to add (the oldest beyond MAX_DEPARTED are forgotten). */
  readonly addDeparted?: DepartedRecord;
  /** A departed id to forget (its node rejoined). */
  readonly removeDeparted?: string;
  /** Custom data writes: an entry, or null to delete. */
  readonly customData?: { readonly key: string; readonly entry: StoredEntry | null };
  readonly tableChanged?: boolean;
}

/** Everything the state holds, as a snapshot decodes it and `replaceAll` restores it. */
export interface StateParts {
  clusterId: string | undefined;
  config: ClusterConfig | undefined;
  table: PartitionTable | undefined;
  nodes: Map<string, NodeRecord>;
  departed: DepartedRecord[];
  custom: Map<string, StoredEntry>;
  revision: number;
  lastIndex: number;
  rebalances: number;
}

export class ClusterState implements ClusterStateView {
  #clusterId: string | undefined;
  #config: ClusterConfig | undefined;
  #table: PartitionTable | undefined;
  #nodes: Map<string, NodeRecord> = new Map();
  // Oldest first; ids unique (a rejoin removes the record, a later leave adds a new one).
  #departed: DepartedRecord[] = [];
  #departedById: Map<string, DepartedRecord> = new Map();
  #custom: Map<string, StoredEntry> = new Map();
  #customBytes = 0;
  #revision = 0;
  #lastIndex = 0;
  #rebalances = 0;
  #nodeList: readonly NodeRecord[] | undefined;
  #departedList: readonly DepartedRecord[] | undefined;
  #keyList: readonly string[] | undefined;

  get bootstrapped(): boolean {
    return this.#config !== undefined;
  }
  get clusterId(): string | undefined {
    return this.#clusterId;
  }
  get config(): ClusterConfig | undefined {
    return this.#config;
  }
  get table(): PartitionTable | undefined {
    return this.#table;
  }
  get revision(): number {
    return this.#revision;
  }
  get lastIndex(): number {
    return this.#lastIndex;
  }
  get counters(): StateCounters {
    return Object.freeze({
      revision: this.#revision,
      lastIndex: this.#lastIndex,
      rebalances: this.#rebalances,
      tableVersion: this.#table?.version ?? 0,
    });
  }
  get nodeCount(): number {
    return this.#nodes.size;
  }

  nodes(): readonly NodeRecord[] {
    this.#nodeList ??= Object.freeze([...this.#nodes.values()]);
    return this.#nodeList;
  }
  node(id: string): NodeRecord | undefined {
    return this.#nodes.get(id);
  }
  hasNode(id: string): boolean {
    return this.#nodes.has(id);
  }
  /** The live member map, for the state machine's own planning (never mutate it; copy it instead). */
  nodeMap(): ReadonlyMap<string, NodeRecord> {
    return this.#nodes;
  }

  departed(): readonly DepartedRecord[] {
    this.#departedList ??= Object.freeze([...this.#departed]);
    return this.#departedList;
  }
  departedNode(id: string): DepartedRecord | undefined {
    return this.#departedById.get(id);
  }

  getCustomData(key: string): CustomDataEntry | undefined {
    const e = this.#custom.get(key);
    if (e === undefined) return undefined;
    return Object.freeze({ key, value: e.value.slice(), revision: e.revision, updatedAt: e.updatedAt });
  }
  customDataRevision(key: string): number {
    return this.#custom.get(key)?.revision ?? 0;
  }
  /** The stored entry (internal: its value must not be handed out). */
  storedEntry(key: string): StoredEntry | undefined {
    return this.#custom.get(key);
  }
  customDataKeys(): readonly string[] {
    this.#keyList ??= Object.freeze([...this.#custom.keys()].sort(compareStrings));
    return this.#keyList;
  }
  /** Entries in insertion order (for snapshots; internal). */
  customEntries(): IterableIterator<[string, StoredEntry]> {
    return this.#custom.entries();
  }
  get customDataCount(): number {
    return this.#custom.size;
  }
  get customDataBytes(): number {
    return this.#customBytes;
  }
  get rebalances(): number {
    return this.#rebalances;
  }

  /**
   * Applies a precomputed change at `index` and counts one revision. Cannot fail: every value was validated and
   * computed before (so a refused command, or an unexpected error while planning, changes nothing).
   */
  install(change: StateChange, index: number): void {
    if (change.clusterId !== undefined) this.#clusterId = change.clusterId;
    if (change.config !== undefined) this.#config = change.config;
    if (change.table !== undefined) this.#table = change.table;
    if (change.tableChanged === true) this.#rebalances += 1;
    if (change.nodes !== undefined) {
      this.#nodes = change.nodes;
      this.#nodeList = undefined;
    }
    if (change.removeDeparted !== undefined && this.#departedById.delete(change.removeDeparted)) {
      const id = change.removeDeparted;
      this.#departed = this.#departed.filter((d) => d.id !== id);
      this.#departedList = undefined;
    }
    if (change.addDeparted !== undefined) {
      const d = change.addDeparted;
      this.#departed.push(d);
      this.#departedById.set(d.id, d);
      if (this.#departed.length > MAX_DEPARTED) {
        for (const old of this.#departed.splice(0, this.#departed.length - MAX_DEPARTED)) {
          this.#departedById.delete(old.id);
        }
      }
      this.#departedList = undefined;
    }
    if (change.customData !== undefined) {
      const { key, entry } = change.customData;
      const old = this.#custom.get(key);
      if (old !== undefined) this.#customBytes -= old.size;
      if (entry === null) {
        this.#custom.delete(key);
      } else {
        // Delete first so a rewritten key moves to the end: snapshot order is write order on every node.
        this.#custom.delete(key);
        this.#custom.set(key, entry);
        this.#customBytes += entry.size;
      }
      this.#keyList = undefined;
    }
    this.#revision += 1;
    this.#lastIndex = index;
  }

  /** Replaces everything (restore). The caller validated the parts. */
  replaceAll(parts: StateParts): void {
    this.#clusterId = parts.clusterId;
    this.#config = parts.config;
    this.#table = parts.table;
    this.#nodes = parts.nodes;
    this.#departed = parts.departed;
    this.#departedById = new Map(parts.departed.map((d) => [d.id, d]));
    this.#custom = parts.custom;
    let bytes = 0;
    for (const e of parts.custom.values()) bytes += e.size;
    this.#customBytes = bytes;
    this.#revision = parts.revision;
    this.#lastIndex = parts.lastIndex;
    this.#rebalances = parts.rebalances;
    this.#nodeList = undefined;
    this.#departedList = undefined;
    this.#keyList = undefined;
  }
}
