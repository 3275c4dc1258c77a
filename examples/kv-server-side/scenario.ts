/**
 * The kv-server-side scenario, with assertions (see examples/kv/scenario.ts for what it checks). Full size (10 nodes,
 * 1,000 keys) by default:
 *
 *   npx tsx examples/kv-server-side/scenario.ts
 *   npx tsx examples/kv-server-side/scenario.ts --nodes 5 --keys 300 --verbose
 */
import { main } from '../kv/scenario.js';
import { createClient } from './client.js';

await main({ name: 'kv-server-side', entry: 'examples/kv-server-side/server.ts', createClient }, process.argv.slice(2));
