/** `iris demo`: the bundled model looks at a picture and answers questions about it, on the CPU. */
import type { Command } from "commander";
import { IrisError } from "../core/errors.js";
import { runDemo, runEvaluation } from "../demo/run-demo.js";
import { loadProgressBar } from "./progress.js";

interface DemoFlags {
  image?: string;
  seed?: string;
  eval?: string;
  color?: boolean;
  json?: boolean;
  device: string;
}

const integer = (value: string, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new IrisError("INVALID_ARGUMENT", `${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return n;
};

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("the bundled model answers questions about a picture (a drawn one, or --image)")
    .option("--image <path-or-url>", "ask about this picture instead of a drawn one")
    .option("--seed <n>", "draw this scene of the shapes generator")
    .option("--eval <n>", "score the model on n held-out pictures and print the accuracy")
    .option("--no-color", "do not show the picture as coloured text")
    .option("--json", "with --eval: print the scores as JSON")
    .option("--device <cpu|cuda>", "with --eval: where the model runs", "cpu")
    .action(async (flags: DemoFlags) => {
      if (flags.json && flags.eval === undefined) {
        throw new IrisError("INVALID_ARGUMENT", "--json is only for --eval (the scores as JSON); the demo itself prints text");
      }
      const progress = loadProgressBar(Boolean(process.stderr.isTTY));
      const started = performance.now();
      if (flags.eval !== undefined) {
        if (flags.device !== "cpu" && flags.device !== "cuda") throw new IrisError("INVALID_ARGUMENT", `--device must be cpu or cuda, got ${flags.device}`);
        const result = await runEvaluation(integer(flags.eval, "--eval", 1), progress.update, flags.device);
        progress.stop();
        if (flags.json) console.log(JSON.stringify({ ...result, seconds: (performance.now() - started) / 1000 }));
        else {
          console.log(`${result.pictures} held-out pictures, ${result.questions} questions: ${(100 * result.accuracy).toFixed(1)}% exactly right (${(100 * result.shortAnswerAccuracy).toFixed(1)}% of the short-answer questions)`);
          for (const [kind, score] of Object.entries(result.byKind)) {
            console.log(`  ${kind.padEnd(9)} ${score.correct}/${score.questions}`);
          }
        }
        return;
      }
      await runDemo({
        image: flags.image,
        seed: flags.seed === undefined ? undefined : integer(flags.seed, "--seed", 0, 0xffffffff),
        color: flags.color !== false && Boolean(process.stdout.isTTY),
        print: (line) => console.log(line),
        onProgress: progress.update,
        // The bar is erased before the first answer is printed: a line printed under a live bar gets cut.
        onLoaded: progress.stop,
      });
      progress.stop();
    });
}
