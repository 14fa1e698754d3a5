/**
 * Every fixture case of a tiny model through one model instance (a whole model, or one rank's shard): the vision
 * tower on the case's pixels, the prompt's logits, then greedy decoding with the model's own tokens. The tensor
 * parallelism tests run it on one rank and on every rank of a group and compare.
 */
import { toNumbers } from "../../src/core/host-tensor.js";
import type { VisionLanguageModel } from "../../src/models/model.js";
import { fromHost } from "../../src/runtime/creation.js";
import { getDevice } from "../../src/runtime/device.js";
import { loadCases, loadCaseTensors, type FixtureModel } from "./fixtures.js";
import { greedyDecode } from "./greedy-decode.js";

export interface CaseRun {
  readonly name: string;
  readonly firstLogits: Float32Array;
  readonly tokens: number[];
}

export async function runFixtureCases(model: VisionLanguageModel, fixture: FixtureModel, steps = 12): Promise<CaseRun[]> {
  const device = getDevice("cpu");
  const runs: CaseRun[] = [];
  for (const c of loadCases(fixture)) {
    const ref = loadCaseTensors(fixture, c.name);
    const ids = Int32Array.from(toNumbers(ref.input_ids));
    const L = ids.length;
    let positions = Int32Array.from(ids.keys());
    let positionOf: ((p: number) => number[]) | undefined;
    let embeds = null;
    if (fixture === "tiny-qwen2_5-vl") {
      // M-RoPE: the processor's three rows, then every row at p + rope_delta while decoding.
      const pos = toNumbers(ref.position_ids);
      positions = Int32Array.from({ length: L * 3 }, (_, i) => pos[(i % 3) * L + Math.floor(i / 3)]);
      const delta = toNumbers(ref.rope_deltas)[0];
      positionOf = (p) => [p + delta, p + delta, p + delta];
      if (c.images.length) {
        const grid = toNumbers(ref.image_grid_thw);
        const grids = Array.from({ length: grid.length / 3 }, (_, i) => grid.slice(3 * i, 3 * i + 3));
        embeds = model.encodeImages({ pixelValues: fromHost(device, ref.pixel_values), imageGrids: grids });
      }
    } else if (c.images.length) {
      embeds = model.encodeImages({ pixelValues: fromHost(device, ref.pixel_values) });
    }
    // Pages of 20 with a prefill in pieces of 100: chunked prefill and page boundaries inside attention chunks.
    const result = await greedyDecode(model, ids, positions, embeds, { steps, pageSize: 20, prefillChunk: 100, positionOf });
    runs.push({ name: c.name, firstLogits: result[0].logits, tokens: result.map((s) => s.token) });
  }
  return runs;
}
