/**
 * The kv-async scenario, with assertions (see examples/kv/scenario.ts for what it checks). Full size (10 nodes,
 * 1,000 keys) by default:
 *
 *   npx tsx examples/kv-async/scenario.ts
 *   npx tsx examples/kv-async/scenario.ts --nodes 5 --keys 300 --verbose
 */
import { main } from '../kv/scenario.js';
import { createClient } from './client.js';

await main({ name: 'kv-async', entry: 'examples/kv-async/server.ts', createClient }, process.argv.slice(2));
