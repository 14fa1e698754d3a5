/** The multimodal layer's public surface: image loading, resampling, the per-model processors, M-RoPE positions. */
export type { DecodedPixels, ImageInput, LoadImageOptions, ProcessorRequest, RgbImage } from "./image-types.js";
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_TIMEOUT_MS } from "./image-types.js";
export { loadImage } from "./image-input.js";
export { decodeImageBytes, sniffImageFormat, type ImageFormat } from "./image-decode.js";
export { resizeUint8, computeAxisWeights, type PixelBuffer, type ResampleFilter, type AxisWeights } from "./resample.js";
export type { ProcessorTokenizer } from "./processor-tokenizer.js";
export { countOccurrences, expandImageTokenIds, replacePlaceholders } from "./image-placeholders.js";
export { smartResize, roundHalfEven } from "./qwen2-vl-smart-resize.js";
export {
  QWEN2_VL_PROCESSOR_DEFAULTS, loadQwen2VLProcessorConfig, qwen2VLProcessorConfigFromJson, type Qwen2VLProcessorConfig,
} from "./qwen2-vl-processor-config.js";
export { Qwen2VLImageProcessor, type GridThw, type Qwen2VLImageFeatures } from "./qwen2-vl-image-processor.js";
export { Qwen2_5VLProcessor, type Qwen2_5VLProcessorOutput } from "./qwen2-5-vl-processor.js";
export { mropePositions, type MRopePositions, type MRopeTokenConfig } from "./mrope-positions.js";
export {
  LLAMA4_PROCESSOR_DEFAULTS, llama4ProcessorConfigFromJson, loadLlama4ProcessorConfig, type Llama4ProcessorConfig,
  type Llama4TokenStrings,
} from "./llama4-processor-config.js";
export { bestFitCanvas, maxResWithoutDistortion, resizeTarget, supportedCanvases, type Canvas } from "./llama4-tiling.js";
export { Llama4ImageProcessor, type Llama4ImageFeatures } from "./llama4-image-processor.js";
export { Llama4Processor, llama4ImagePromptText, patchesPerTile, type Llama4ProcessorOutput } from "./llama4-processor.js";
