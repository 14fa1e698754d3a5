#!/usr/bin/env node
// The line budget of docs/structure.md: a source file over the limit is a sign it holds more than one concern.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const LIMIT = { ".ts": 400, ".cc": 500, ".cu": 500 };
const over = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else {
      const ext = Object.keys(LIMIT).find((e) => name.endsWith(e));
      if (!ext) continue;
      const lines = readFileSync(path, "utf8").split("\n").length;
      if (lines > LIMIT[ext]) over.push(`${path}: ${lines} lines (limit ${LIMIT[ext]})`);
    }
  }
}
for (const root of ["src", "native"]) {
  try { walk(root); } catch (e) { if (e.code !== "ENOENT") throw e; }
}
if (over.length) {
  console.error("files over the line budget:\n  " + over.join("\n  "));
  process.exit(1);
}
