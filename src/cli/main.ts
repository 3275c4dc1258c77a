#!/usr/bin/env node
// The `clusterkit` executable: everything lives in cli.ts so tests can call main() in-process.
import { main } from './cli.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Commands close everything they open, so the process normally ends here by itself. If something still holds the
// event loop (a socket a stopped node did not close), the exit code must not wait for it: an unref'd timer fires
// only in that case.
setTimeout(() => process.exit(code), 500).unref();
