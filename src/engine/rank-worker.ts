/** Entry point of a tensor-parallel rank other than 0 (a worker thread): runs a `RankFollower` until rank 0 stops. */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { RankFollower } from "./rank-follower.js";
import { portChannel, type FromRank, type RankStart } from "./rank-protocol.js";

const port = parentPort;
if (!port) throw new Error("rank-worker.ts runs only as a worker thread");
const start = workerData as RankStart & { readonly leader: MessagePort };
new RankFollower(start, portChannel(start.leader), (error) => {
  if (error !== null) port.postMessage({ type: "failed", message: error.message } satisfies FromRank);
  // Ends this thread even while a timer or handle of the failed rank is still open.
  setImmediate(() => process.exit(error === null ? 0 : 1));
});
