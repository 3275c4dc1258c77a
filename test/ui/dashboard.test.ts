/**
 * The dashboard in a real browser (headless Chromium driven by playwright-core) against a real local cluster of
 * three ClusterKit node processes (test/cluster/node/harness.ts): the page shows every node and the partition grid;
 * the lookup box finds a key's partition and owners (as the node's getPartition answers); when a node is killed its
 * card turns unhealthy and its partitions stand out, then the leader removes it: the card goes, the grid no longer
 * names it, and the leave event appears in the live event list; the lookup follows the new table.
 *
 * Needs Chromium at /usr/bin/chromium (Debian: `apt-get install chromium`), or CHROMIUM_PATH.
 */
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { type HeadlessBrowser, openHeadlessChromium } from '../../examples/browser.js';
import type { Partition } from '../../src/cluster/index.js';
import { ProcCluster } from '../cluster/node/harness.js';

/** Unhealthy after 1 s of silence, removed after 6 s: the page has time to show both states. */
const HEALTH = { interval: 500, timeout: 1000, failureThreshold: 12 };
const IDS = ['node-1', 'node-2', 'node-3'];
const WAIT = { timeout: 30_000 };

// The page's DOM as far as the callbacks below (run in the browser) use it: the project compiles without lib.dom.
interface El {
  readonly dataset: Record<string, string | undefined>;
  readonly hidden: boolean;
  readonly textContent: string | null;
  querySelector(selector: string): El | null;
}
declare const document: {
  getElementById(id: string): El | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El> & Iterable<El>;
};

let cluster: ProcCluster | undefined;
let browser: HeadlessBrowser | undefined;

afterEach(async () => {
  await browser?.close();
  browser = undefined;
  await cluster?.destroy();
  cluster = undefined;
});

/** Partition index → owners (primary first), as the grid shows them. */
function gridOwners(page: Page): Promise<string[]> {
  return page.$$eval('#grid .cell', (cells) =>
    cells.map((c) => {
      const d = (c as unknown as El).dataset;
      return [d['primary'], d['replicas']].filter((x) => x !== undefined && x !== '').join(',');
    }),
  );
}

async function locateInPage(page: Page, key: string): Promise<{ index: number; owners: string[] }> {
  await page.fill('#lookup-key', key);
  await page.press('#lookup-key', 'Enter');
  const handle = await page.waitForFunction(
    (k) => {
      const box = document.getElementById('lookup-result')!;
      const text = box.querySelector('.mono')?.textContent;
      return !box.hidden && text === k && box.dataset['partition'] !== undefined
        ? { index: Number(box.dataset['partition']), owners: (box.dataset['owners'] ?? '').split(',') }
        : null;
    },
    key,
    WAIT,
  );
  return (await handle.jsonValue())!;
}

describe('dashboard', () => {
  it('shows every node, follows a killed node out of the cluster, and locates keys', { timeout: 120_000 }, async () => {
    const c = new ProcCluster();
    cluster = c;
    const procs = await Promise.all(
      IDS.map((id) => c.boot(id, { healthCheck: HEALTH, partitionCount: 24, replicationFactor: 2 })),
    );
    const [first] = procs as [NonNullable<(typeof procs)[0]>];
    await first.start();
    await Promise.all(procs.slice(1).map((p) => p.start([first.addr])));
    await c.waitForAgreement(IDS, 20_000);
    // Killing one of three voters keeps a quorum only once all three vote.
    await c.waitUntil(async () => (await c.summaries()).every((s) => s.voters.length === 3), 15_000, '3 voters');
    const leader = (await first.summary()).leaderId;
    const victim = procs.find((p) => p.id !== 'node-1' && p.id !== leader)!;

    browser = await openHeadlessChromium({ viewport: { width: 1400, height: 1000 } });
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`http://${first.addr}/ui`);

    // Every node, as a card; the full grid; the live stream; the history of the joins.
    await page.waitForFunction(
      (n) =>
        document.querySelectorAll('.node-card').length === n && document.querySelectorAll('#grid .cell').length === 24,
      IDS.length,
      WAIT,
    );
    const cards = await page.$$eval('.node-card', (els) => els.map((e) => (e as unknown as El).dataset['nodeId']));
    expect(cards.sort()).toEqual(IDS);
    expect(await page.getAttribute(`.node-card[data-node-id="${leader}"]`, 'data-role')).toBe('leader');
    await page.waitForSelector('#live[data-state="live"]', WAIT);
    await page.waitForFunction(
      () => document.querySelectorAll('.event[data-type="nodeJoin"]').length === 3,
      null,
      WAIT,
    );
    const before = await gridOwners(page);
    expect(before.some((o) => o.split(',').includes(victim.id))).toBe(true);

    // The lookup box: the key's partition and owners, as the node computes them, highlighted.
    const key = 'user:42';
    const found = await locateInPage(page, key);
    const p = await first.request<Partition>('partition', key);
    expect(found).toEqual({ index: p.index, owners: [p.primaryNode, ...p.replicaNodes] });
    await page.waitForSelector(`#grid .cell.hit[data-partition="${p.index}"]`, WAIT);
    const hitCards = await page.$$eval('.node-card.hit', (els) =>
      els.map((e) => (e as unknown as El).dataset['nodeId']),
    );
    expect(hitCards.sort()).toEqual([p.primaryNode, ...p.replicaNodes].sort());

    // Kill a follower: first it is unhealthy and its partitions stand out...
    victim.kill();
    await page.waitForSelector(`.node-card[data-node-id="${victim.id}"][data-health="unhealthy"]`, WAIT);
    await page.waitForSelector('#grid .cell[data-risk]', WAIT);
    // ...then the leader removes it: the card goes, the grid changes, the leave event shows up.
    await page.waitForFunction(
      (id) =>
        document.querySelector(`.node-card[data-node-id="${id}"]`) === null &&
        [...document.querySelectorAll('#grid .cell')].every(
          (cell) => cell.dataset['primary'] !== id && !(cell.dataset['replicas'] ?? '').split(',').includes(id),
        ),
      victim.id,
      WAIT,
    );
    const leave = await page.waitForSelector(`.event[data-type="nodeLeave"][data-node="${victim.id}"]`, WAIT);
    expect(await leave.textContent()).toContain('failed its health checks');
    const after = await gridOwners(page);
    expect(after).toHaveLength(24);
    expect(after).not.toEqual(before);
    expect(await page.$$eval('.node-card', (els) => els.length)).toBe(2);

    // The lookup follows the new table.
    const moved = await first.request<Partition>('partition', key);
    await page.waitForFunction(
      (owners) => document.getElementById('lookup-result')!.dataset['owners'] === owners,
      [moved.primaryNode, ...moved.replicaNodes].join(','),
      WAIT,
    );
    expect(errors).toEqual([]);
  });
});
