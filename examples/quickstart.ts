/**
 * The README's quick start, runnable: one node bootstraps a cluster, answers where keys live, stores replicated
 * custom data, and leaves. Run with `npx tsx examples/quickstart.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterKit } from '../src/index.js';

const dataDir = mkdtempSync(join(tmpdir(), 'clusterkit-quickstart-'));
const ck = new ClusterKit({ nodeId: 'node-1', httpAddr: '127.0.0.1:0', dataDir });
let created = 0;
ck.onPartitionChange((e) => {
  // A brand-new partition has nobody to copy from; later changes name the current holders of the data.
  if (e.copyFromNodes.length === 0) created += 1;
  else if (e.needsCopy)
    console.log(
      `copy ${e.partitionId} to ${e.copyToNode.id} from`,
      e.copyFromNodes.map((n) => n.id),
    );
});
try {
  await ck.start();
  const p = ck.getPartition('user:123');
  console.log(`user:123 → ${p.id}, primary ${p.primaryNode}, epoch ${p.epoch}, mine: ${ck.isPrimary(p)}`);
  await ck.setCustomData('feature-x', 'on');
  console.log(`feature-x = ${new TextDecoder().decode(ck.getCustomData('feature-x'))}`);
  await ck.leave();
  console.log(`partitions created on this node: ${created}`);
} finally {
  await ck.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
