/**
 * Command-line arguments of write-dataset.ts:
 *   --count N --seed-start S --out DIR [--workers K] [--chunk-size C] [--generator 1|2] [--canvases M]
 */
import { parseArgs } from "node:util";
import type { WriteDatasetOptions } from "./dataset-writer.js";

export const WRITER_USAGE =
  "usage: node dist/demo/shapes/write-dataset.js --count N --seed-start S --out DIR [--workers K] [--chunk-size C]\n" +
  "         [--generator 1|2] [--canvases M]   (generator 2: pictures of any size; keep the first M canvases)\n" +
  "  seeds [S, S+N) must be all training seeds (< 2147483648) or all held-out seeds (>= 2147483648)";

function integerArg(name: string, text: string | undefined, min: number): number {
  if (text === undefined) throw new RangeError(`--${name} is required\n${WRITER_USAGE}`);
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function generatorArg(text: string): 1 | 2 {
  if (text !== "1" && text !== "2") throw new RangeError(`--generator must be 1 or 2, got ${JSON.stringify(text)}`);
  return text === "1" ? 1 : 2;
}

export function parseWriterArgs(argv: readonly string[]): WriteDatasetOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      count: { type: "string" },
      "seed-start": { type: "string" },
      out: { type: "string" },
      workers: { type: "string" },
      "chunk-size": { type: "string" },
      generator: { type: "string" },
      canvases: { type: "string" },
    },
    strict: true,
  });
  if (values.out === undefined || values.out === "") throw new RangeError(`--out is required\n${WRITER_USAGE}`);
  return {
    count: integerArg("count", values.count, 1),
    seedStart: integerArg("seed-start", values["seed-start"], 0),
    outDir: values.out,
    workers: values.workers === undefined ? undefined : integerArg("workers", values.workers, 0),
    chunkSize: values["chunk-size"] === undefined ? undefined : integerArg("chunk-size", values["chunk-size"], 1),
    ...(values.generator === undefined ? {} : { generator: generatorArg(values.generator) }),
    ...(values.canvases === undefined ? {} : { canvases: integerArg("canvases", values.canvases, 0) }),
  };
}
