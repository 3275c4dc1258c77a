/**
 * Takes the README's screenshot of the dashboard: starts a local cluster of five ClusterKit nodes in this process
 * (three zones, 64 partitions, three copies each), makes some history (custom data, a graceful leave and a rejoin,
 * then a node that stops answering), opens node-1's dashboard in headless Chromium, locates a key, and saves a
 * full-page PNG.
 *
 *   npx tsx examples/dashboard-screenshot.ts [out.png]       # default docs/img/dashboard.png
 *
 * Needs Chromium (Debian: `apt-get install chromium`; another binary with CHROMIUM_PATH=...). Everything it starts
 * (nodes, browser, temp directories) is stopped and removed at the end, also on failure.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ClusterKit, type ClusterKitOptions } from '../src/index.js';
import { openHeadlessChromium } from './browser.js';

const OUT = resolve(process.argv[2] ?? join(import.meta.dirname, '..', 'docs', 'img', 'dashboard.png'));
const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c', 'eu-west-1a', 'eu-west-1b'];

const dir = mkdtempSync(join(tmpdir(), 'clusterkit-screenshot-'));
const nodes = new Map<string, ClusterKit>();

function options(id: string, zone: string, joinAddr?: string): ClusterKitOptions {
  return {
    nodeId: id,
    httpAddr: '127.0.0.1:0',
    dataDir: join(dir, id),
    zone,
    clusterName: 'orders-eu',
    partitionCount: 64,
    replicationFactor: 3,
    raft: { electionMs: 600, heartbeatMs: 50 },
    // Unhealthy after 1.5 s of silence, removed only after a minute: the picture shows the unhealthy state.
    healthCheck: { interval: 500, timeout: 1500, failureThreshold: 120 },
    ...(joinAddr === undefined ? {} : { joinAddr }),
  };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  const first = new ClusterKit(options('node-1', ZONES[0]!));
  nodes.set('node-1', first);
  await first.start();
  for (let i = 2; i <= 5; i++) {
    const ck = new ClusterKit(options(`node-${i}`, ZONES[i - 1]!, first.address));
    nodes.set(`node-${i}`, ck);
    await ck.start();
  }
  const voters = (): number => first.httpApi.consensus()?.config.members.filter((m) => m.voter).length ?? 0;
  await waitFor('five voters', () => voters() === 5);
  await first.setCustomData('feature/checkout-v2', 'on');
  await first.setCustomData('maintenance-window', '2024-06-01T02:00Z');

  // node-5 leaves gracefully, then comes back with its data directory: a leave, then a rejoin.
  await nodes.get('node-5')!.leave();
  await waitFor('node-5 to be gone', () => first.getCluster().nodes.length === 4);
  const back = new ClusterKit(options('node-5', ZONES[4]!, first.address));
  nodes.set('node-5', back);
  await back.start();
  await waitFor('node-5 to be back', () => first.getCluster().nodes.length === 5);

  // node-4 stops answering (no leave): it turns unhealthy, and its partitions stand out.
  await nodes.get('node-4')!.stop();
  await waitFor('node-4 to be unhealthy', () => first.healthCheck().unhealthyNodeIds.includes('node-4'));

  const browser = await openHeadlessChromium({
    viewport: { width: 1480, height: 1000 },
    deviceScaleFactor: 1,
    colorScheme: 'light',
  });
  try {
    const page = await browser.context.newPage();
    await page.goto(`http://${first.address}/ui`);
    await page.waitForSelector('.node-card[data-health="unhealthy"]');
    await page.waitForSelector('#live[data-state="live"]');
    await page.fill('#lookup-key', 'user:123');
    await page.press('#lookup-key', 'Enter');
    await page.waitForSelector('.cell.hit');
    // Let the "moved" flashes and the fresh-event highlights fade.
    await page.waitForTimeout(2000);
    mkdirSync(dirname(OUT), { recursive: true });
    await page.screenshot({ path: OUT, fullPage: true });
    console.log(`saved ${OUT}`);
  } finally {
    await browser.close();
  }
}

try {
  await main();
} finally {
  await Promise.allSettled([...nodes.values()].map((n) => n.stop()));
  rmSync(dir, { recursive: true, force: true });
}
