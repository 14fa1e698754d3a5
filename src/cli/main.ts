/** The `iris` command line: a thin layer over the same `Engine` the library exposes. */
import { Command } from "commander";
import { isIrisError } from "../core/errors.js";
import { registerGenerate } from "./generate-command.js";

const program = new Command();
program.name("iris").description("Iris: offline inference for vision-language models").showHelpAfterError();
registerGenerate(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (isIrisError(err)) console.error(`iris: ${err.code}: ${err.message}`);
  else console.error(`iris: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
}
