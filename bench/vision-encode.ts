/**
 * The vision tower alone on the device, printing JSON: `Engine.encodeImages` of `--images` copies of one 512x512
 * photograph given as processor output (so the host's decoding and resizing stay out), median milliseconds a call
 * over `--repeats` after warm-up, per picture, and the rate that gives against the tower's products (2 FLOPs per
 * matrix parameter and patch; attention's own products are left out: a window of 64 patches adds about 1%). Every
 * call changes one value of every picture, so no embedding cache serves it. A call includes the float32 pixels'
 * upload (6 MB a picture) and the embeddings' read-back to this thread, so it bounds the tower's device time from
 * above (H200: 20 ms for one picture here, 12.9 ms for a raw photo's whole encode in bench/latency.ts); the step
 * profile's `deviceVision` (IRIS_STEP_PROFILE) gives the device time of the vision encodes inside real steps.
 *
 *   node --import tsx bench/vision-encode.ts --model DIR --image PHOTO.png [--images 1,14] [--repeats 5] [--device cuda]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import type { HostTensor } from "../src/core/host-tensor.js";
import type { ImageInput } from "../src/core/request.js";
import { Engine } from "../src/engine/engine.js";
import { AutoProcessor } from "../src/multimodal/auto-processor.js";
import type { Qwen2_5VLProcessorOutput } from "../src/multimodal/qwen2-5-vl-processor.js";
import { runInfo } from "./run-info.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    image: { type: "string" },
    images: { type: "string", default: "1,14" },
    repeats: { type: "string", default: "5" },
    device: { type: "string", default: "cuda" },
  },
});
if (!values.model || !values.image) throw new Error("--model DIR and --image PHOTO are required");
const counts = values.images.split(",").map(Number), repeats = Number(values.repeats);

const { data, info } = await sharp(values.image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
const processor = await AutoProcessor.fromPretrained(values.model);
const prompt = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe.<|im_end|>\n";
const po = await processor.process({ text: prompt, images: [{ data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 }] }) as Qwen2_5VLProcessorOutput;
const pixels = po.pixel_values!, grid = Array.from(po.image_grid_thw!.data as ArrayLike<number | bigint>, Number);
const patches = pixels.shape[0], width = pixels.shape[1];

const engine = await Engine.create({ modelPath: values.model, loadFormat: "dummy", device: values.device as "cpu" | "cuda", randomSeed: 0 });
// The tower's matrix parameters per patch (Qwen2.5-VL): each block's q|k|v, o and gate/up/down, the patch
// embedding, and the merger's two products over each group of merge² patches.
const vision = JSON.parse(readFileSync(join(values.model, "config.json"), "utf8")).vision_config;
const { hidden_size: h, intermediate_size: inter, depth, out_hidden_size: out, spatial_merge_size: merge } = vision;
const visionParameters = depth * (4 * h * h + 3 * h * inter) + width * h + (merge * merge * h * merge * merge * h + merge * merge * h * out) / (merge * merge);

let variant = 0;
/** `n` copies of the picture as one processor_output item, each with one value changed (never a cache hit). */
function item(n: number): ImageInput {
  const values = new Float32Array(n * patches * width);
  for (let i = 0; i < n; i++) {
    values.set(pixels.data as Float32Array, i * patches * width);
    values[i * patches * width + (variant++ % (patches * width))] += 0.5;
  }
  const pixelValues: HostTensor = { dtype: "F32", shape: [n * patches, width], data: values };
  const grids: number[][] = Array.from({ length: n }, () => grid);
  return { format: "processor_output", pixel_values: pixelValues, image_grid_thw: grids };
}

const results = [];
for (const n of counts) {
  const ms: number[] = [];
  for (let r = 0; r < 2 + repeats; r++) {
    const input = item(n);
    const start = performance.now();
    await engine.encodeImages([input]);
    if (r >= 2) ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(ms.length / 2)];
  const flops = 2 * visionParameters * n * patches;
  results.push({
    images: n, patches: n * patches, msPerCall: +median.toFixed(2), msPerImage: +(median / n).toFixed(2),
    tflopsByParameters: +(flops / median / 1e9).toFixed(1),
  });
}
await engine.shutdown();
console.log(JSON.stringify({ benchmark: "vision-encode", ...runInfo(import.meta.url), device: engine.info.device, visionParameters, results }, null, 2));
