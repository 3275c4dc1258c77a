/**
 * The node's Prometheus metrics (text format via MetricsRegistry): Raft state, leader, term and indexes, members,
 * partitions per node, rebalances, hook runs and errors, events, cluster health, removals, API requests. Values
 * that live elsewhere (Raft, the state, the hook dispatcher) are read at scrape time, so nothing has to be kept
 * in sync; the few things only this node counts (events emitted, requests) are counters here.
 */
import { type Counter, MetricsRegistry } from '../metrics/registry.js';
import type { RaftCounters, RaftStatus } from '../raft/api.js';
import type { ClusterHealth } from './health.js';
import type { HookStats } from './hooks.js';
import type { ClusterStateView } from './state/index.js';

export interface MetricSources {
  raftStatus(): RaftStatus | null;
  raftCounters(): RaftCounters | null;
  readonly state: ClusterStateView;
  hookStats(): HookStats;
  health(): ClusterHealth | undefined;
  removals(): number;
  userKeys(): number;
}

export class NodeMetrics {
  readonly registry = new MetricsRegistry();
  readonly events: Counter;
  readonly requests: Counter;

  constructor(src: MetricSources) {
    const r = this.registry;
    const raft = (fn: (s: RaftStatus) => number) => (set: (v: number) => void) => {
      const s = src.raftStatus();
      if (s !== null) set(fn(s));
    };
    r.gauge('clusterkit_raft_term', 'Current Raft term.').collect(raft((s) => s.term));
    r.gauge('clusterkit_raft_commit_index', 'Raft commit index.').collect(raft((s) => s.commitIndex));
    r.gauge('clusterkit_raft_applied_index', 'Raft index applied to the cluster state.').collect(
      raft((s) => s.appliedIndex),
    );
    r.gauge('clusterkit_raft_last_index', 'Index of the last Raft log entry.').collect(raft((s) => s.lastIndex));
    r.gauge('clusterkit_raft_snapshot_index', 'Index of the latest Raft snapshot.').collect(
      raft((s) => s.snapshotIndex),
    );
    r.gauge('clusterkit_raft_is_leader', '1 when this node is the Raft leader.').collect(
      raft((s) => (s.role === 'leader' ? 1 : 0)),
    );
    r.gauge('clusterkit_raft_state', 'Raft role of this node (1 for the current one).').collect((set) => {
      const s = src.raftStatus();
      for (const role of ['leader', 'follower', 'candidate', 'pre-candidate'] as const) {
        set(s?.role === role ? 1 : 0, { state: role });
      }
    });
    r.gauge('clusterkit_raft_leader', 'The Raft leader known to this node (1, labelled with its id).').collect(
      (set) => {
        const s = src.raftStatus();
        if (s?.leaderId != null) set(1, { leader_id: s.leaderId });
      },
    );
    r.gauge('clusterkit_raft_voters', 'Voters in the Raft configuration.').collect(
      raft((s) => s.config.members.filter((m) => m.voter).length),
    );
    r.gauge('clusterkit_raft_members', 'Members (voters and non-voters) of the Raft configuration.').collect(
      raft((s) => s.config.members.length),
    );
    const counter = (name: string, help: string, fn: (c: RaftCounters) => number): void => {
      r.gauge(name, help).collect((set) => {
        const c = src.raftCounters();
        if (c !== null) set(fn(c));
      });
    };
    counter('clusterkit_raft_proposals', 'Proposals made through this node (cumulative).', (c) => c.proposals);
    counter('clusterkit_raft_proposals_failed', 'Proposals that failed (cumulative).', (c) => c.proposalsFailed);
    counter('clusterkit_raft_elections', 'Elections this node started (cumulative).', (c) => c.elections);
    counter('clusterkit_raft_leader_changes', 'Leader changes seen by this node (cumulative).', (c) => c.leaderChanges);
    counter('clusterkit_raft_snapshots_taken', 'Snapshots taken (cumulative).', (c) => c.snapshotsTaken);

    r.gauge('clusterkit_nodes', 'Members of the cluster.').collect((set) => set(src.state.nodeCount));
    r.gauge('clusterkit_partitions', 'Partitions of the cluster.').collect((set) =>
      set(src.state.table?.partitionCount ?? 0),
    );
    r.gauge('clusterkit_partition_table_version', 'Version of the partition table in force.').collect((set) =>
      set(src.state.table?.version ?? 0),
    );
    r.gauge('clusterkit_partitions_per_node', 'Partitions per node, by role (primary or replica).').collect((set) => {
      const t = src.state.table;
      if (t === undefined) return;
      for (const n of src.state.nodes()) {
        const p = t.partitionsOfNode(n.id);
        set(p.primaries.length, { node: n.id, role: 'primary' });
        set(p.replicas.length, { node: n.id, role: 'replica' });
      }
    });
    r.gauge('clusterkit_rebalances', 'Partition table changes committed (cumulative, replicated).').collect((set) =>
      set(src.state.counters.rebalances),
    );
    r.gauge('clusterkit_custom_data_keys', 'Custom data keys.').collect((set) => set(src.userKeys()));
    r.gauge('clusterkit_hook_runs', 'Hook invocations finished, by event (cumulative).').collect((set) => {
      for (const [event, c] of Object.entries(src.hookStats().byEvent)) set(c.runs, { event });
    });
    r.gauge('clusterkit_hook_errors', 'Hook invocations that threw or rejected, by event (cumulative).').collect(
      (set) => {
        for (const [event, c] of Object.entries(src.hookStats().byEvent)) set(c.errors, { event });
      },
    );
    r.gauge('clusterkit_hooks_running', 'Hooks running now.').collect((set) => set(src.hookStats().running));
    r.gauge('clusterkit_hooks_queued', 'Hooks waiting for a slot.').collect((set) => set(src.hookStats().queued));
    r.gauge('clusterkit_cluster_health', 'Cluster health as this node sees it (1 for the current status).').collect(
      (set) => {
        const h = src.health();
        for (const status of ['healthy', 'degraded', 'critical'] as const) {
          set(h?.status === status ? 1 : 0, { status });
        }
      },
    );
    r.gauge('clusterkit_unhealthy_nodes', 'Members the leader finds unhealthy.').collect((set) =>
      set(src.health()?.unhealthyNodes ?? 0),
    );
    r.gauge('clusterkit_node_removals', 'Dead nodes removed by this node while leader (cumulative).').collect((set) =>
      set(src.removals()),
    );
    this.events = r.counter('clusterkit_events_total', 'Cluster events emitted to hooks on this node, by type.');
    this.requests = r.counter(
      'clusterkit_requests_total',
      'Changes requested through this node, by operation and result.',
    );
  }
}
