/**
 * What a user hands `Engine.generate` and what comes back: the offline engine's request and result types.
 * Tensors inside image items keep the Hugging Face names (`pixel_values`, `image_grid_thw`, `input_ids`) because
 * they are the same data a Python processor produces.
 */
import type { HostTensor } from "./host-tensor.js";
import type { LogprobTuple } from "./logprobs.js";
import type { SamplingParams } from "./sampling-params.js";

/** Decoded pixels, row-major, `channels` interleaved values per pixel (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA). */
export interface DecodedImage {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

/**
 * A raw image: a file path, an http(s) URL, a `data:` URL, a bare base64 string, the bytes of an encoded image
 * (PNG, JPEG, WebP, GIF, BMP, TIFF), or decoded pixels.
 */
export type RawImage = string | Uint8Array | DecodedImage;

/** A tensor given as a `HostTensor` (e.g. read from a safetensors file) or as nested arrays of numbers. */
export type TensorLike = HostTensor | number[] | number[][];

/** The output of an image processor (Iris's own or Python's), used instead of a raw image. */
export interface ProcessorOutputItem {
  readonly format: "processor_output";
  /** Optional in the type so a processor's output spreads in as is; a request without it is refused. */
  readonly pixel_values?: HostTensor;
  /** Qwen2.5-VL: one `[t, h, w]` row per image. */
  readonly image_grid_thw?: TensorLike;
  /** Llama 4: one `[tiles_y, tiles_x]` row per image. */
  readonly aspect_ratios?: TensorLike;
  readonly input_ids?: TensorLike;
}

/** The vision encoder's output for the request's images (e.g. from `Engine.encodeImages`), reused as is. */
export interface PrecomputedEmbeddingItem {
  readonly format: "precomputed_embedding";
  /** `[image tokens, hidden]`: one row per image placeholder token, in prompt order. */
  readonly feature: HostTensor;
  /** Qwen2.5-VL needs the grids to place the M-RoPE positions of the image tokens. */
  readonly image_grid_thw?: TensorLike;
  readonly input_ids?: TensorLike;
}

export type ImageInput = RawImage | ProcessorOutputItem | PrecomputedEmbeddingItem;

export interface GenerateRequest {
  /** The prompt, used as given (build it with a chat template first). One string, or a batch. */
  prompt?: string | string[];
  /**
   * Token ids instead of a prompt: one list, or a batch of lists; or a processor's `input_ids` tensor (1-D for one
   * request, 2-D for a batch).
   */
  inputIds?: number[] | number[][] | HostTensor;
  /**
   * The images, SGLang style: for one prompt a list of its images (or one image); for a batch a list with one entry
   * per prompt (an image or a list of images).
   */
  imageData?: ImageInput | ImageInput[] | (ImageInput | ImageInput[] | null)[];
  samplingParams?: SamplingParams | SamplingParams[];
  /** Request ids; generated when absent. */
  rid?: string | string[];
  /** Return logprobs in `metaInfo` (SGLang's `return_logprob`); one value, or one per prompt. */
  returnLogprob?: boolean | boolean[];
  /** First prompt position with an input logprob; -1 (default): output logprobs only. */
  logprobStartLen?: number | number[];
  /** How many top logprobs per position (default 0). */
  topLogprobsNum?: number | number[];
  /** Token ids whose logprobs are returned at every position: one list, or one list per prompt. */
  tokenIdsLogprob?: number[] | number[][];
}

export type FinishReason =
  | { readonly type: "stop"; readonly matched: number | string }
  | { readonly type: "length"; readonly length: number }
  | { readonly type: "abort"; readonly message: string; readonly code?: string };

export interface MetaInfo {
  readonly id: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Prompt tokens whose KV entries came from the prefix cache. */
  readonly cachedTokens: number;
  readonly finishReason: FinishReason | null;
  /** Seconds from the call to the last token. */
  readonly e2eLatency: number;
  readonly numRetractions: number;
  /** With `returnLogprob`: `[logprob, tokenId, null]` per prompt position from `logprobStartLen` (logprob null at 0). */
  readonly inputTokenLogprobs?: LogprobTuple[];
  /** With `returnLogprob`: `[logprob, tokenId, null]` per output token. */
  readonly outputTokenLogprobs?: LogprobTuple[];
  /** With `topLogprobsNum` > 0: the top tuples per position, largest first (null at prompt position 0). */
  readonly inputTopLogprobs?: (LogprobTuple[] | null)[];
  readonly outputTopLogprobs?: LogprobTuple[][];
  /** With `tokenIdsLogprob`: the asked ids' tuples per position, in the order asked (null at prompt position 0). */
  readonly inputTokenIdsLogprobs?: (LogprobTuple[] | null)[];
  readonly outputTokenIdsLogprobs?: LogprobTuple[][];
}

export interface GenerateResult {
  readonly text: string;
  readonly outputIds: number[];
  readonly metaInfo: MetaInfo;
}

/** One piece of a streamed generation: the new text, and the whole text and ids so far. */
export interface StreamChunk {
  readonly delta: string;
  readonly text: string;
  readonly outputIds: number[];
  /** Position of the request in its batch. */
  readonly index: number;
  readonly metaInfo: MetaInfo;
}
