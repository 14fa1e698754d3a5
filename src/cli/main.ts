/** The `iris` command line: a thin layer over the same `Engine` the library exposes. */
import { Command, CommanderError } from "commander";
import { isIrisError } from "../core/errors.js";
import { registerDemo } from "./demo-command.js";
import { registerGenerate } from "./generate-command.js";

const program = new Command();
program.name("iris").description("Iris: offline inference for vision-language models");
registerGenerate(program);
registerDemo(program);
// Usage errors come back here as one line, like every other error, instead of commander's printout.
for (const command of [program, ...program.commands]) {
  command.exitOverride().configureOutput({ outputError: () => undefined });
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here too, having printed what was asked.
    if (err.exitCode !== 0) console.error(`iris: INVALID_ARGUMENT: ${err.message.replace(/^error: /, "")} (see iris --help)`);
    process.exitCode = err.exitCode;
  } else if (isIrisError(err)) console.error(`iris: ${err.code}: ${err.message}`);
  else console.error(`iris: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
}
