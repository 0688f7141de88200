#!/usr/bin/env node
/**
 * The `cloister` executable.
 *
 * @module
 */
import { run } from './main.js';

const code = await run(process.argv.slice(2));
process.exitCode = code;
// The command has finished; do not let a forgotten handle keep the process alive.
setTimeout(() => process.exit(code), 5000).unref();
