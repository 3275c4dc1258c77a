/**
 * A tour of the partitioning core: build a table for 5 nodes, locate keys, add a node, remove one, and print what
 * moved. Run: `npx tsx examples/partitioning-demo.ts`.
 */
import {
  computePlacement,
  diffTables,
  type Member,
  type PartitionTable,
  type TableDiff,
} from '../src/partitioning/index.js';

const members: Member[] = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'].map((id) => ({ id }));
const v1 = computePlacement({ members, partitionCount: 64, replicationFactor: 3 });

function summary(table: PartitionTable): string {
  return table.nodes
    .map((id) => {
      const mine = table.partitionsOfNode(id);
      return `${id} ${mine.primaries.length}P/${mine.primaries.length + mine.replicas.length}C`;
    })
    .join(', ');
}

function report(title: string, diff: TableDiff): void {
  console.log(`\n${title}: version ${diff.fromVersion} → ${diff.toVersion}`);
  console.log(
    `  ${diff.partitions.length} partitions changed, ${diff.copies} copies to make, ${diff.primaryChanges} primaries changed`,
  );
  for (const change of diff.partitions.slice(0, 4)) {
    const parts = [
      `${change.id}: [${change.oldOwners.join(', ')}] → [${change.newOwners.join(', ')}]`,
      change.copyTo.length > 0 ? `copy to ${change.copyTo.join(', ')} from ${change.copyFrom[0]}` : 'no copy',
      change.promoted !== undefined ? `${change.promoted} promoted` : '',
      change.newEpoch !== change.oldEpoch ? `epoch ${change.oldEpoch} → ${change.newEpoch}` : '',
    ];
    console.log(`  ${parts.filter((p) => p !== '').join('; ')}`);
  }
  if (diff.partitions.length > 4) console.log(`  … and ${diff.partitions.length - 4} more`);
  for (const node of diff.nodes.values()) {
    console.log(
      `  ${node.node}: +${node.copyTo.length} copies, −${node.dropped.length} copies, ` +
        `+${node.becamePrimary.length} primaries (${node.promoted.length} promoted), −${node.lostPrimary.length} primaries`,
    );
  }
}

console.log(`Table v${v1.version}: ${v1.partitionCount} partitions, RF ${v1.replicationFactor}`);
console.log(`  ${summary(v1)}`);
for (const key of ['user:1', 'user:42', 'order:100', 'ünïcødé']) {
  const p = v1.partitionOf(key);
  console.log(
    `  ${JSON.stringify(key)} → ${p.id} → primary ${p.primary}, replicas ${p.replicas.join(', ')} (epoch ${p.epoch})`,
  );
}

const v2 = computePlacement({ members: [...members, { id: 'node-6' }], previous: v1 });
report('node-6 joins', diffTables(v1, v2));
console.log(`  ${summary(v2)}`);

const v3 = computePlacement({ members: [...members, { id: 'node-6' }].filter((m) => m.id !== 'node-2'), previous: v2 });
report('node-2 leaves', diffTables(v2, v3));
console.log(`  ${summary(v3)}`);

const same = computePlacement({
  members: [...members, { id: 'node-6' }].filter((m) => m.id !== 'node-2'),
  previous: v3,
});
console.log(`\nSame membership again: same table object ${same === v3}, diff empty ${diffTables(v3, same).isEmpty}`);
