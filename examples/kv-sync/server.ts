/**
 * A KV node of the kv-sync example. Configured by environment variables and speaking JSON lines on stdout: see
 * examples/kv/server-main.ts and this folder's README.md.
 *
 *   NODE_ID=node-1 HTTP_ADDR=127.0.0.1:8080 KV_ADDR=127.0.0.1:9080 node --import tsx examples/kv-sync/server.ts
 */
import { runKvServer } from '../kv/server-main.js';

await runKvServer('sync');
