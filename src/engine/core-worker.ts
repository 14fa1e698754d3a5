/** Entry point of the engine core's worker thread: builds the `EngineCore` and pumps messages into it. */
import { parentPort, workerData } from "node:worker_threads";
import { IrisError } from "../core/errors.js";
import { EngineCore } from "./engine-core.js";
import type { CoreStart, FromCore, ToCore } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("core-worker.ts runs only as a worker thread");
const send = (message: FromCore) => port.postMessage(message);

try {
  const { options, tp } = workerData as CoreStart;
  const { core, info } = await EngineCore.create(options, send, tp);
  port.on("message", (message: ToCore) => core.receive(message));
  send({ type: "ready", info });
  await core.run();
  send({ type: "closed" });
  port.close();
} catch (err) {
  const error = err instanceof IrisError ? err : new IrisError("INTERNAL", `the engine core failed: ${(err as Error).stack ?? err}`);
  send({ type: "failed", error: error.toJSON() });
  port.close();
}
