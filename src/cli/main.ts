/** The `iris` command line: a thin layer over the same `Engine` the library exposes. */
import { Command, CommanderError } from "commander";
import { isIrisError } from "../core/errors.js";
import { describeKernels } from "../engine/kernels-info.js";
import { packageVersion } from "../utils/package-version.js";
import { registerDemo } from "./demo-command.js";
import { registerGenerate } from "./generate-command.js";
import { registerServe } from "./serve-command.js";

const program = new Command();
// The version line says which cpu kernels load here: an install without its native kernels runs several times slower.
const versionLine = () => `${packageVersion()} (cpu kernels: ${describeKernels("cpu").description})`;
program.name("iris").description("Iris: offline inference for vision-language models");
program.option("-V, --version", "print the version and the kernels that run").on("option:version", () => {
  console.log(versionLine());
  process.exit(0);
});
registerGenerate(program);
registerDemo(program);
registerServe(program);
// Usage errors come back here as one line, like every other error, instead of commander's printout.
for (const command of [program, ...program.commands]) {
  command.exitOverride().configureOutput({ outputError: () => undefined });
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help ends here too, having printed what was asked, with exit code 0.
    if (err.exitCode !== 0) console.error(`iris: INVALID_ARGUMENT: ${err.message.replace(/^error: /, "")} (see iris --help)`);
    process.exitCode = err.exitCode;
  } else {
    console.error(isIrisError(err) ? `iris: ${err.code}: ${err.message}` : `iris: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  }
}
