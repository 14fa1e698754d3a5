/**
 * The vision tower's input on the device from a payload: processor pixel values are uploaded as they are; 8-bit
 * pictures (`rgb8`) travel at their source sizes, in one upload with the fixed-point weights of each distinct
 * (source size, grid size) resize (computed here on the host, as the processor computes them), are resized there to
 * their grids (`resizeImage`, bit-exact with the processor's `resizeUint8`; a picture already at its grid's size is
 * used as it is) and turned into the processor's patch rows (`patchifyImage`), launches per picture, into one tensor
 * in the current scope (the step arena while the runner encodes).
 */
import type { ModelConfig } from "../checkpoint/model-config.js";
import { IrisError } from "../core/errors.js";
import type { MultimodalPayload } from "../core/multimodal-payload.js";
import { packAxisWeights } from "../core/resample-passes.js";
import { patchifyImage } from "../kernels/patchify-image.js";
import { packedLength, resizeImage } from "../kernels/resize-image.js";
import { resizeWeights } from "../multimodal/resample.js";
import type { ImageResize } from "../runtime/backend.js";
import { empty, fromHost } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";

export type VisionPayload = Exclude<MultimodalPayload, { kind: "embeddings" }>;
type Rgb8Payload = Extract<MultimodalPayload, { kind: "rgb8" }>;

/** One picture of an rgb8 payload: its source size, and the size of its grid (t = 1) it is resized to. */
export interface Rgb8Picture {
  readonly srcWidth: number;
  readonly srcHeight: number;
  readonly width: number;
  readonly height: number;
}

export function rgb8Pictures(config: ModelConfig, mm: Rgb8Payload): Rgb8Picture[] {
  if (config.family !== "qwen2_5_vl") throw new IrisError("INTERNAL", "internal error: 8-bit pictures are Qwen2.5-VL's");
  if (mm.sourceSizes.length !== mm.imageGrids.length) throw new IrisError("INTERNAL", "internal error: 8-bit pictures and grids differ in number");
  const patch = config.vision.patchSize;
  return mm.imageGrids.map(([t, h, w], i) => {
    if (t !== 1) throw new IrisError("INTERNAL", "internal error: an 8-bit picture has one frame");
    const [srcWidth, srcHeight] = mm.sourceSizes[i];
    return { srcWidth, srcHeight, width: w * patch, height: h * patch };
  });
}

/** A resize's packed weight tables and where they go in the upload. */
interface PackedResize {
  readonly picture: Rgb8Picture;
  readonly horizontal: { table: Int32Array; taps: number; precision: number } | null;
  readonly vertical: { table: Int32Array; taps: number; precision: number } | null;
  readonly at: number;
}

export function visionPixels(device: Device, config: ModelConfig, mm: VisionPayload): Tensor {
  if (mm.kind === "pixels") return fromHost(device, mm.pixelValues);
  if (config.family !== "qwen2_5_vl") throw new IrisError("INTERNAL", "internal error: 8-bit pictures are Qwen2.5-VL's");
  const v = config.vision;
  const pictures = rgb8Pictures(config, mm);
  const bytes = mm.pixels.data as Uint8Array;
  if (bytes.length !== pictures.reduce((n, p) => n + p.srcWidth * p.srcHeight * 3, 0)) {
    throw new IrisError("IMAGE_TOKEN_MISMATCH", `the 8-bit pictures hold ${bytes.length} bytes, not what their sizes need`);
  }
  // The upload: each picture's bytes packed four to an I32 (from an element boundary), then each distinct resize's
  // weight tables (a few kilobytes).
  let length = 0;
  const pixelsAt = pictures.map((p) => {
    const at = length;
    length += packedLength(p.srcWidth * p.srcHeight * 3);
    return at;
  });
  const resizes = new Map<string, PackedResize>();
  for (const p of pictures) {
    const key = resizeKey(p);
    if (resizes.has(key) || (p.width === p.srcWidth && p.height === p.srcHeight)) continue;
    const weights = resizeWeights(p.srcWidth, p.srcHeight, p.width, p.height, mm.resample);
    const pack = (w: typeof weights.horizontal, inSize: number) => w && { table: packAxisWeights(w, inSize), taps: w.taps, precision: w.precision };
    const packed = { picture: p, horizontal: pack(weights.horizontal, p.srcWidth), vertical: pack(weights.vertical, p.srcHeight), at: length };
    resizes.set(key, packed);
    length += (packed.horizontal?.table.length ?? 0) + (packed.vertical?.table.length ?? 0);
  }
  const host = new Int32Array(length);
  const hostBytes = new Uint8Array(host.buffer);
  let from = 0;
  pictures.forEach((p, i) => {
    const n = p.srcWidth * p.srcHeight * 3;
    hostBytes.set(bytes.subarray(from, from + n), pixelsAt[i] * 4);
    from += n;
  });
  for (const r of resizes.values()) {
    if (r.horizontal) host.set(r.horizontal.table, r.at);
    if (r.vertical) host.set(r.vertical.table, r.at + (r.horizontal?.table.length ?? 0));
  }
  const uploaded = fromHost(device, host, { dtype: "I32" });
  const onDevice = new Map<string, ImageResize>();
  for (const [key, { picture: p, horizontal: h, vertical: vt, at }] of resizes) {
    const hLength = h?.table.length ?? 0;
    onDevice.set(key, {
      srcWidth: p.srcWidth, srcHeight: p.srcHeight, width: p.width, height: p.height,
      horizontal: h && { table: uploaded.narrow(at, hLength), taps: h.taps, precision: h.precision },
      vertical: vt && { table: uploaded.narrow(at + hLength, vt.table.length), taps: vt.taps, precision: vt.precision },
    });
  }

  const patches = pictures.reduce((n, p) => n + (p.width / v.patchSize) * (p.height / v.patchSize), 0);
  const out = empty(device, [patches, v.inChannels * v.temporalPatchSize * v.patchSize ** 2]);
  const table = fromHost(device, mm.levelTable, { shape: [3, 256], dtype: "F32" });
  let row = 0;
  pictures.forEach((p, i) => {
    const rows = (p.width / v.patchSize) * (p.height / v.patchSize);
    const source = uploaded.narrow(pixelsAt[i], packedLength(p.srcWidth * p.srcHeight * 3));
    const resize = onDevice.get(resizeKey(p));
    const pixels = resize === undefined ? source : resizeImage(source, resize);
    patchifyImage(pixels, table, { width: p.width, height: p.height, patchSize: v.patchSize, mergeSize: v.spatialMergeSize, temporalPatchSize: v.temporalPatchSize },
      out.narrow(row, rows));
    // Outside an arena the resized bytes go back now (stream order keeps them until patchifyImage has read them).
    if (pixels !== source) pixels.dispose();
    row += rows;
  });
  uploaded.dispose();
  table.dispose();
  return out;
}

function resizeKey(p: Rgb8Picture): string {
  return `${p.srcWidth}x${p.srcHeight}>${p.width}x${p.height}`;
}
