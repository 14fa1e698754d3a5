/**
 * The vision tower's input on the device from a payload: processor pixel values are uploaded as they are; 8-bit
 * resized pictures (`rgb8`) are uploaded as bytes and turned into the same patch rows there (`patchifyImage`),
 * one launch per picture, into one tensor in the current scope (the step arena while the runner encodes).
 */
import type { ModelConfig } from "../checkpoint/model-config.js";
import { IrisError } from "../core/errors.js";
import type { MultimodalPayload } from "../core/multimodal-payload.js";
import { packBytes, patchifyImage } from "../kernels/patchify-image.js";
import { empty, fromHost } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";

export type VisionPayload = Exclude<MultimodalPayload, { kind: "embeddings" }>;

/** Bytes of each picture of an rgb8 payload, from its grids (t = 1 each). */
export function rgb8Sizes(config: ModelConfig, mm: Extract<MultimodalPayload, { kind: "rgb8" }>): { width: number; height: number }[] {
  if (config.family !== "qwen2_5_vl") throw new IrisError("INTERNAL", "internal error: 8-bit pictures are Qwen2.5-VL's");
  const patch = config.vision.patchSize;
  return mm.imageGrids.map(([t, h, w]) => {
    if (t !== 1) throw new IrisError("INTERNAL", "internal error: an 8-bit picture has one frame");
    return { width: w * patch, height: h * patch };
  });
}

export function visionPixels(device: Device, config: ModelConfig, mm: VisionPayload): Tensor {
  if (mm.kind === "pixels") return fromHost(device, mm.pixelValues);
  if (config.family !== "qwen2_5_vl") throw new IrisError("INTERNAL", "internal error: 8-bit pictures are Qwen2.5-VL's");
  const v = config.vision;
  const sizes = rgb8Sizes(config, mm);
  const patches = sizes.reduce((n, s) => n + (s.width / v.patchSize) * (s.height / v.patchSize), 0);
  const bytes = mm.pixels.data as Uint8Array;
  if (bytes.length !== sizes.reduce((n, s) => n + s.width * s.height * 3, 0)) {
    throw new IrisError("IMAGE_TOKEN_MISMATCH", `the 8-bit pictures hold ${bytes.length} bytes, not what their grids need`);
  }
  const out = empty(device, [patches, v.inChannels * v.temporalPatchSize * v.patchSize ** 2]);
  const table = fromHost(device, mm.levelTable, { shape: [3, 256], dtype: "F32" });
  let row = 0, at = 0;
  for (const { width, height } of sizes) {
    const rows = (width / v.patchSize) * (height / v.patchSize), length = width * height * 3;
    const pixels = fromHost(device, packBytes(bytes.subarray(at, at + length)), { dtype: "I32" });
    patchifyImage(pixels, table, { width, height, patchSize: v.patchSize, mergeSize: v.spatialMergeSize, temporalPatchSize: v.temporalPatchSize },
      out.narrow(row, rows));
    row += rows;
    at += length;
  }
  return out;
}
