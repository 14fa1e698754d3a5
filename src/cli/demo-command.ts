/** `iris demo`: the bundled model looks at a picture and answers questions about it, on the CPU. */
import type { Command } from "commander";
import { IrisError } from "../core/errors.js";
import { defaultEvaluationSets, runDemo, runEvaluation } from "../demo/run-demo.js";
import type { EvaluationSet } from "../demo/evaluate.js";
import { loadProgressBar } from "./progress.js";

interface DemoFlags {
  image?: string;
  seed?: string;
  eval?: string;
  color?: boolean;
  json?: boolean;
  set?: string;
  device: string;
  quantization?: string;
}

const SET_NAMES: Record<string, EvaluationSet[]> = { generator: ["generator"], foreign: ["foreign"], both: ["generator", "foreign"] };

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
    .option("--set <generator|foreign|both>", "with --eval: the generator's held-out pictures, pictures drawn another way, or both (default: all the checkpoint has)")
    .option("--device <cpu|cuda>", "with --eval: where the model runs", "cpu")
    .option("--quantization <fp8>", "the decoder's weights in FP8 (SGLang's --quantization fp8)")
    .action(async (flags: DemoFlags) => {
      if (flags.json && flags.eval === undefined) {
        throw new IrisError("INVALID_ARGUMENT", "--json is only for --eval (the scores as JSON); the demo itself prints text");
      }
      if (flags.quantization !== undefined && flags.quantization !== "fp8") {
        throw new IrisError("INVALID_ARGUMENT", `--quantization must be fp8, got ${flags.quantization}`);
      }
      const quantization = flags.quantization as "fp8" | undefined;
      const progress = loadProgressBar(Boolean(process.stderr.isTTY));
      const started = performance.now();
      if (flags.eval !== undefined) {
        if (flags.device !== "cpu" && flags.device !== "cuda") throw new IrisError("INVALID_ARGUMENT", `--device must be cpu or cuda, got ${flags.device}`);
        const count = integer(flags.eval, "--eval", 1);
        const sets = flags.set === undefined ? defaultEvaluationSets() : SET_NAMES[flags.set];
        if (sets === undefined) throw new IrisError("INVALID_ARGUMENT", `--set must be generator, foreign or both, got ${flags.set}`);
        if (sets.includes("foreign") && !defaultEvaluationSets().includes("foreign")) {
          throw new IrisError("INVALID_ARGUMENT", "--set foreign needs a checkpoint trained on generator 2's drawings; the bundled one predates them");
        }
        const results = await runEvaluation(count, progress.update, flags.device, sets, quantization);
        progress.stop();
        const seconds = (performance.now() - started) / 1000;
        // JSON: the first set's scores at the top level (as before there were two sets), the others by name.
        if (flags.json) console.log(JSON.stringify({ ...results[0], ...Object.fromEntries(results.slice(1).map((r) => [r.set, r])), seconds }));
        else {
          for (const result of results) {
            const what = result.set === "foreign" ? "pictures drawn another way (kept out of training)" : "held-out pictures of the generator";
            console.log(`${result.pictures} ${what}, ${result.questions} questions: ${(100 * result.accuracy).toFixed(1)}% exactly right ` +
              `(${(100 * result.shortAnswerAccuracy).toFixed(1)}% of the short answers, ${(100 * result.describeAccuracy).toFixed(1)}% of the descriptions)`);
            for (const [kind, score] of Object.entries(result.byKind)) console.log(`  ${kind.padEnd(9)} ${score.correct}/${score.questions}`);
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
        quantization,
      });
      progress.stop();
    });
}
