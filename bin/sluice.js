#!/usr/bin/env node
// The sluice command: loads the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../service/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
