#!/usr/bin/env node
// The `iris` command. It runs the compiled CLI in dist/, which `npm ci` (through the `prepare` script) or
// `npm run build` produces.
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  console.error("iris: dist/ is missing; run `npm run build` (npm ci builds it too) first");
  process.exit(1);
}
await import(main.href);
