/**
 * Writes a shapes data set for training or evaluating the demo model (format: dataset-format.ts).
 * Runs with plain node from the build, with no dependency beyond node's own modules:
 *   node dist/demo/shapes/write-dataset.js --count 50000 --seed-start 0 --out data/train
 */
import { writeDataset } from "./dataset-writer.js";
import { parseWriterArgs, WRITER_USAGE } from "./writer-args.js";

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(WRITER_USAGE);
    return;
  }
  const options = parseWriterArgs(argv);
  const started = performance.now();
  let lastReport = started;
  const meta = await writeDataset({
    ...options,
    onProgress: (written) => {
      const now = performance.now();
      if (now - lastReport < 2000 && written < options.count) return;
      lastReport = now;
      console.log(`${written}/${options.count} pictures, ${((now - started) / 1000).toFixed(1)} s`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `wrote ${meta.count} ${meta.split} pictures (seeds ${meta.seedStart}..${meta.seedStart + meta.count - 1}) ` +
      `to ${options.outDir} in ${seconds.toFixed(1)} s`,
  );
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
