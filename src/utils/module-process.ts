/**
 * Starts a child process from a module next to the caller, with an IPC channel that carries structured clones
 * (typed arrays included): its JavaScript file once built, its TypeScript source under tsx (tests, development).
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * @param callerUrl `import.meta.url` of the module asking
 * @param name the module's file name without extension, relative to the caller
 * @param env the child's environment
 */
export function startModuleProcess(callerUrl: string, name: string, env: NodeJS.ProcessEnv): ChildProcess {
  const isSource = callerUrl.endsWith(".ts");
  const entry = fileURLToPath(new URL(`${name}${isSource ? ".ts" : ".js"}`, callerUrl));
  const execArgv = isSource ? ["--import", "tsx"] : [];
  return fork(entry, [], { env, execArgv, serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
}
