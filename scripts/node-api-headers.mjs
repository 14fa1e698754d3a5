// Where Node-API's C headers are, for the native builds (build-native.mjs, build-cuda.mjs).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

/** The node-api-headers package when installed, else the headers Node.js ships with itself; undefined if none. */
export function nodeApiIncludeDir() {
  const candidates = [];
  try {
    candidates.push(createRequire(import.meta.url)("node-api-headers").include_dir);
  } catch {
    // not installed: Node's own headers below
  }
  candidates.push(resolve(dirname(process.execPath), "..", "include", "node"));
  if (process.env.npm_config_nodedir) candidates.push(join(process.env.npm_config_nodedir, "include", "node"));
  return candidates.find((dir) => dir && existsSync(join(dir, "node_api.h")));
}
