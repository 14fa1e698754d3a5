/**
 * The short table of issue 10's benchmarks from the JSON files scripts/device/cuda-run.sh --throughput writes
 * (vlm-{offline,shared-picture,formats}-{iris,hf}.json in one folder); a missing or unreadable file shows as "-".
 *
 *   node --import tsx bench/vlm-table.ts DIR
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? ".";
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function load(name: string): any {
  try {
    return JSON.parse(readFileSync(join(dir, name), "utf8"));
  } catch {
    return null;
  }
}
const fmt = (x: unknown, digits = 0): string => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "-");

const offline = load("vlm-offline-iris.json"), offlineHf = load("vlm-offline-hf.json");
const shared = load("vlm-shared-picture-iris.json"), sharedHf = load("vlm-shared-picture-hf.json");
const formats = load("vlm-formats-iris.json"), formatsHf = load("vlm-formats-hf.json");
const irisTps = offline?.results?.outputTokensPerS, hfTps = offlineHf?.results?.outputTokensPerS;
const lines = [
  `offline (${offline?.workload?.requests ?? "-"} requests): iris ${fmt(irisTps)} tok/s, hf ${fmt(hfTps)} tok/s, ` +
    `ratio ${fmt(irisTps / hfTps, 2)} (target 15), floor ${fmt(offline?.floor?.outputTokensPerS)} tok/s, ` +
    `fraction ${fmt(offline?.floor?.fractionOfFloor, 3)}, failed ${offline?.results?.failed ?? "-"}`,
];
if (offline?.phases) {
  const p = offline.phases;
  lines.push(`  phases: vision ${fmt(p.vision.seconds, 2)} s (floor ${fmt(p.vision.floorSeconds, 2)}, ${fmt(p.vision.flopPerS / 1e12, 1)} TFLOP/s), ` +
    `prefill ${fmt(p.prefill.seconds, 2)} s (floor ${fmt(p.prefill.floorSeconds, 2)}, ${fmt(p.prefill.flopPerS / 1e12, 1)} TFLOP/s), ` +
    `decode ${fmt(p.decode.seconds, 2)} s (floor ${fmt(p.decode.floorSeconds, 2)}, ${fmt(p.decode.bytesPerS / 1e9)} GB/s, ${fmt(p.decode.flopPerS / 1e12, 1)} TFLOP/s)`);
}
lines.push(
  `shared picture: radix on ${fmt(shared?.radixOn?.outputTokensPerS)} tok/s (cached ${shared?.radixOn?.cachedTokens ?? "-"} of ` +
    `${shared?.radixOn?.promptTokens ?? "-"}), off ${fmt(shared?.radixOff?.outputTokensPerS)} tok/s, speedup ${fmt(shared?.speedup, 2)} (target 2), ` +
    `identical ${shared?.identicalOutputs ?? "-"}; hf ${fmt(sharedHf?.results?.outputTokensPerS)} tok/s`,
  `formats ttft ms: iris raw ${fmt(formats?.ttftMs?.raw?.median, 1)}, processor ${fmt(formats?.ttftMs?.processorOutput?.median, 1)}, ` +
    `embedding ${fmt(formats?.ttftMs?.embedding?.median, 1)} (${fmt(100 * formats?.embeddingVsRaw)}% lower, target 30); ` +
    `hf raw ${fmt(formatsHf?.ttftMs?.raw?.median, 1)}, processor ${fmt(formatsHf?.ttftMs?.processorOutput?.median, 1)}, ` +
    `embedding ${fmt(formatsHf?.ttftMs?.embedding?.median, 1)}`,
);
console.log(lines.join("\n"));
