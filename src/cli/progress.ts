/** A progress bar on stderr while the model loads, so stdout stays clean for `--json`. */
import { SingleBar } from "cli-progress";
import type { LoadProgressEvent } from "../engine/core-client.js";

export function loadProgressBar(enabled: boolean): { update: (event: LoadProgressEvent) => void; stop: () => void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    stream: process.stderr,
    format: "loading {stage} [{bar}] {value}/{total}",
    hideCursor: true,
    clearOnComplete: true,
    noTTYOutput: true,
    notTTYSchedule: 1000,
  });
  let started = false;
  let stopped = false;
  return {
    update(event) {
      if (stopped) return;
      if (!started) {
        bar.start(event.total, event.loaded, { stage: event.stage });
        started = true;
      } else bar.update(event.loaded, { stage: event.stage });
    },
    stop() {
      // Called as soon as the model is loaded and again at the end: only the first stops the bar.
      if (started && !stopped) bar.stop();
      stopped = true;
    },
  };
}
