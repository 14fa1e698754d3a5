// Prints bench/fp8-timeline-scout.ts's JSON files in a folder as a table, one line a product of the second layer
// (the first runs after the graph's start): its blocks' multiprocessors, the marks' spread (µs from the first
// product's entry) and each block's phases (median µs, p10/median/p90 where three): entry to wait (e2w), wait to x's
// first row loaded (w2x), to its amax reduced (x2r), to the prologue's first part (r2f; the plain products only), wait
// to the prologue's first part (w2f), that to x quantized (f2q), wait to quantized (w2q), quantized to streamed (q2s); gap:
// the product ahead's last block's end to this one's first release. Called by cuda-run.sh --timeline-scout.
//   node scripts/device/timeline-table.mjs DIR
import { readdirSync, readFileSync } from "node:fs";

const dir = process.argv[2];
for (const f of readdirSync(dir).filter((f) => f.startsWith("timeline-scout") && f.endsWith(".json")).sort()) {
  let d;
  try {
    d = JSON.parse(readFileSync(`${dir}/${f}`, "utf8"));
  } catch {
    console.log(`${f}: unreadable`);
    continue;
  }
  console.log(`== ${f}: ${d.perLayerUs} µs a layer`);
  const perLayer = d.launches.length / d.layers;
  for (const l of d.launches.slice(perLayer, 2 * perLayer)) {
    const p3 = (x) => `${x.p10}/${x.median}/${x.p90}`;
    console.log(l.name.padEnd(30), `sm ${l.sms} (${l.blocksPerSM.min}-${l.blocksPerSM.max})`, `entry ${l.entryUs.min}-${l.entryUs.max}`,
      `wait ${l.waitedUs.min}-${l.waitedUs.max}`, `end ${l.streamedUs.min}/${l.streamedUs.median}/${l.streamedUs.max}`,
      `e2w ${l.blockEntryToWaitedUs.median}`, `w2x ${l.blockWaitToXLoadedUs?.median ?? "-"}`,
      `x2r ${l.blockXLoadedToReducedUs?.median ?? "-"}`, `r2f ${l.blockReducedToFirstPartUs?.median ?? "-"}`,
      `w2f ${l.blockWaitToFirstPartUs.median}`, `f2q ${l.blockFirstPartToQuantizedUs.median}`,
      `w2q ${p3(l.blockWaitToQuantizedUs)}`, `q2s ${p3(l.blockQuantizedToStreamedUs)}`, `gap ${l.previousEndToReleaseUs}`);
  }
}
