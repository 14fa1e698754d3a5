/**
 * Starts a worker thread from a module next to the caller: its JavaScript file once built, its TypeScript source
 * under tsx (tests, development), where the worker must register tsx's loader itself, because on Node 20 a worker
 * does not inherit the parent's `--import tsx` hooks.
 */
import { Worker, type Transferable } from "node:worker_threads";

/**
 * @param callerUrl `import.meta.url` of the module asking
 * @param name the worker module's file name without extension, relative to the caller
 * @param transferList what `workerData` moves rather than copies (message ports)
 */
export function startModuleWorker(callerUrl: string, name: string, workerData: unknown, transferList?: readonly Transferable[]): Worker {
  const isSource = callerUrl.endsWith(".ts");
  const entry = new URL(`${name}${isSource ? ".ts" : ".js"}`, callerUrl);
  const transfer = transferList && { transferList: [...transferList] };
  if (!isSource) return new Worker(entry, { workerData, ...transfer });
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true, workerData, ...transfer });
}
