/**
 * Starts a worker thread from a module next to the caller: its JavaScript file once built, its TypeScript source
 * under tsx (tests, development), where the worker must register tsx's loader itself, because on Node 20 a worker
 * does not inherit the parent's `--import tsx` hooks.
 */
import { Worker } from "node:worker_threads";

/**
 * @param callerUrl `import.meta.url` of the module asking
 * @param name the worker module's file name without extension, relative to the caller
 */
export function startModuleWorker(callerUrl: string, name: string, workerData: unknown): Worker {
  const isSource = callerUrl.endsWith(".ts");
  const entry = new URL(`${name}${isSource ? ".ts" : ".js"}`, callerUrl);
  if (!isSource) return new Worker(entry, { workerData });
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}
