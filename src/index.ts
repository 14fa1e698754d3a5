/**
 * Iris's public API. See README.md and docs/structure.md.
 *
 *   import { Engine, chatTemplates, AutoProcessor } from "iris-vlm";
 */
export { Engine, type SingleGenerateRequest, type BatchGenerateRequest, type ParallelGenerateRequest } from "./engine/engine.js";
export type { EngineOptions } from "./engine/engine-options.js";
export type { LoadProgressEvent } from "./engine/core-client.js";
export type { CoreInfo as EngineInfo, FlushCacheResult, MemoryPlan } from "./engine/protocol.js";
export type { KernelsInfo } from "./engine/kernels-info.js";
export type { ServerInfo } from "./engine/server-info.js";
export type { LogLevel } from "./utils/logger.js";

export { IrisError, isIrisError, type IrisErrorCode } from "./core/errors.js";
export type {
  DecodedImage, FinishReason, GenerateRequest, GenerateResult, ImageInput, MetaInfo, PrecomputedEmbeddingItem,
  ProcessorOutputItem, RawImage, StreamChunk, TensorLike,
} from "./core/request.js";
export type { SamplingParams } from "./core/sampling-params.js";
export type { LogprobTuple } from "./core/logprobs.js";
export {
  hostTensor, int64Tensor, float32Tensor, idsTensor, toFloat32, toNumbers, type HostTensor, type HostTensor1D, type HostTensor2D,
} from "./core/host-tensor.js";
export type { DType } from "./core/dtype.js";

export { loadSafetensors, saveSafetensors, SafetensorsFile } from "./checkpoint/safetensors.js";
export { ModelConfig, loadModelConfig, type ModelFamily } from "./checkpoint/model-config.js";

export { Tokenizer } from "./tokenizer/tokenizer.js";
export { IncrementalDetokenizer } from "./tokenizer/incremental-detokenizer.js";
export { chatTemplates } from "./tokenizer/chat-templates.js";
export { Conversation, SeparatorStyle } from "./tokenizer/conversation.js";
export { JinjaChatTemplate } from "./tokenizer/jinja-chat-template.js";

export { AutoProcessor, type Processor } from "./multimodal/auto-processor.js";
export { Qwen2_5VLProcessor } from "./multimodal/qwen2-5-vl-processor.js";
export { Llama4Processor } from "./multimodal/llama4-processor.js";
export { loadImage } from "./multimodal/image-input.js";
