/**
 * Service discovery for the KV nodes: every node registers its KV HTTP address as the `kv` service when it joins
 * (ClusterKit replicates it with the membership), and every node dials its peers through it.
 *
 * The Go original's examples built `http://<node.IP>/kv/...` from the node record, which is the ClusterKit
 * coordination port, so every migration and every forwarded request hit the wrong server. Here the KV address
 * always comes from `getServiceNodes('kv')`. It lists healthy members only: a node the leader currently finds
 * unresponsive is treated as unreachable, which is what callers would find out anyway, only slower.
 */
import type { ClusterKit } from '../../src/index.js';

export const KV_SERVICE = 'kv';

/** The KV address of `nodeId`, or undefined when it is not a healthy member offering the service. */
export function kvAddressOf(ck: ClusterKit, nodeId: string): string | undefined {
  for (const s of ck.getServiceNodes(KV_SERVICE)) if (s.node.id === nodeId) return s.address;
  return undefined;
}

/** Every healthy member's KV address, by node id. */
export function kvAddresses(ck: ClusterKit): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of ck.getServiceNodes(KV_SERVICE)) out.set(s.node.id, s.address);
  return out;
}
