/**
 * Entry point of a tensor-parallel rank other than 0 in its own process (cuda: the addon drives one device per
 * process). The engine's thread sends `{ type: "start", start }` first, then relays rank 0's messages; the process
 * runs a `RankFollower` until the channel closes.
 */
import { RankFollower } from "./rank-follower.js";
import type { FromRank, RankChannel, RankStart, ToRank } from "./rank-protocol.js";

if (process.send === undefined) throw new Error("rank-process.ts runs only as a child process with an IPC channel");
/** Reports a failure, then ends the process once the message is out. */
const exit = (error: Error | null) => {
  if (error === null) process.exit(0);
  process.send!({ type: "failed", message: error.message } satisfies FromRank, () => process.exit(1));
};

const channel: RankChannel = {
  onMessage: (listener) => process.on("message", (message: ToRank | { type: "start" }) => message.type !== "start" && listener(message)),
  onClose: (listener) => process.on("disconnect", listener),
  close: () => process.connected && process.disconnect(),
};

process.once("message", (first: { type: "start"; start: RankStart }) => {
  try {
    new RankFollower(first.start, channel, exit);
  } catch (err) {
    exit(new Error(`rank ${first.start.rank} could not start: ${(err as Error).message}`));
  }
});
