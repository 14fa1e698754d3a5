/** The `iris` command line: a thin layer over the same `Engine` the library exposes. */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { isIrisError } from "../core/errors.js";
import { registerDemo } from "./demo-command.js";
import { registerGenerate } from "./generate-command.js";

const program = new Command();
program.name("iris").description("Iris: offline inference for vision-language models").version(packageVersion());
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
    // --help and --version end here too, having printed what was asked, with exit code 0.
    if (err.exitCode !== 0) console.error(`iris: INVALID_ARGUMENT: ${err.message.replace(/^error: /, "")} (see iris --help)`);
    process.exitCode = err.exitCode;
  } else {
    console.error(isIrisError(err) ? `iris: ${err.code}: ${err.message}` : `iris: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  }
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}
