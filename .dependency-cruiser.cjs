// The layering rule of docs/structure.md, enforced: each folder of src/ imports only the folders listed for it.
// Read top to bottom this is the path of a request: engine -> scheduler -> runner -> models -> layers -> kernels
// -> runtime, with tokenizer, multimodal and checkpoint beside them and core/utils under everything.
const allowed = {
  utils: [],
  core: ["utils"],
  checkpoint: ["core", "utils"],
  tokenizer: ["core", "utils"],
  cache: ["core", "utils"],
  multimodal: ["core", "utils", "tokenizer", "checkpoint"],
  scheduler: ["core", "utils", "cache"],
  runtime: ["core", "utils"],
  grammar: ["core", "utils", "tokenizer"],
  kernels: ["core", "utils", "runtime"],
  attention: ["core", "utils", "runtime", "kernels"],
  layers: ["core", "utils", "runtime", "kernels", "attention", "checkpoint"],
  models: ["core", "utils", "runtime", "kernels", "attention", "layers", "checkpoint"],
  runner: ["core", "utils", "runtime", "kernels", "attention", "layers", "models", "cache", "checkpoint", "multimodal"],
  engine: ["core", "utils", "runtime", "kernels", "attention", "layers", "models", "cache", "checkpoint",
    "multimodal", "tokenizer", "scheduler", "runner", "grammar"],
  server: ["core", "utils", "tokenizer", "engine"],
  cli: ["core", "utils", "checkpoint", "multimodal", "tokenizer", "engine", "demo", "server"],
  demo: ["core", "utils", "checkpoint", "multimodal", "tokenizer", "engine"],
};

const forbidden = Object.entries(allowed).map(([layer, deps]) => ({
  name: `layer-${layer}`,
  comment: `src/${layer} may import only: ${deps.join(", ") || "nothing in src/"}`,
  severity: "error",
  from: { path: `^src/${layer}/` },
  to: { path: "^src/", pathNot: [`^src/(${[layer, ...deps].join("|")})/`] },
}));

forbidden.push(
  {
    name: "cuda-behind-device",
    comment: "the cuda backend is reached through getDevice(\"cuda\"): only src/runtime/device.ts imports src/runtime/cuda",
    severity: "error",
    from: { path: "^src/", pathNot: ["^src/runtime/device\\.ts$", "^src/runtime/cuda/"] },
    to: { path: "^src/runtime/cuda/" },
  },
  {
    name: "no-circular",
    severity: "error",
    from: {},
    to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
  },
  {
    name: "index-is-reexports",
    comment: "src/index.ts is the public API: it re-exports from engine, core and the helper layers only",
    severity: "error",
    from: { path: "^src/index\\.ts$" },
    to: { path: "^src/(runner|scheduler|models|layers|kernels|attention|runtime|cache)/" },
  },
);

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
