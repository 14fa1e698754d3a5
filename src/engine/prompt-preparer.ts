/**
 * What every model family's request preparation produces, and the pieces they share: token counting, expanding or
 * accepting image placeholders in given ids, content hashes of images for the prefix-cache key.
 */
import { createHash } from "node:crypto";
import { contentDigest } from "../core/content-digest.js";
import { IrisError } from "../core/errors.js";
import { DTYPE_BYTES } from "../core/dtype.js";
import type { HostTensor } from "../core/host-tensor.js";
import type { MultimodalPayload, PromptPositions } from "../core/multimodal-payload.js";
import type { ImageLoadRequest } from "../multimodal/image-types.js";
import { countTokenRuns } from "../multimodal/image-placeholders.js";
import type { ProcessorTokenizer } from "../multimodal/processor-tokenizer.js";
import { idList, type ClassifiedImages } from "./image-items.js";

export interface PreparedPrompt {
  readonly inputIds: readonly number[];
  readonly mm?: MultimodalPayload;
  readonly positions?: PromptPositions;
  /** Per image in prompt order: a hash of its processed content and layout, standing in for its tokens in the cache key. */
  readonly imageKeys: readonly number[];
  /** Per image in prompt order: how many of the prompt's image tokens it fills. */
  readonly imageTokenCounts: readonly number[];
}

export interface PromptSource {
  readonly prompt: string | undefined;
  readonly inputIds: readonly number[] | undefined;
  /** The longest prompt the engine takes: given ids are checked against it before their placeholders are expanded. */
  readonly maxInputTokens?: number;
}

/** One model family's way from a prompt (or ids) and images to model inputs. */
export interface FamilyPreparer {
  /** The token that receives image embeddings. */
  readonly imageTokenId: number;
  prepare(source: PromptSource, images: ClassifiedImages, imageOptions?: ImageLoadRequest): Promise<PreparedPrompt>;
  /** The images alone (raw or processor output) in the form the vision encoder takes, for `encodeImages`. */
  processImages(images: ClassifiedImages, imageOptions?: ImageLoadRequest): Promise<MultimodalPayload>;
}

/** Image content keys start here, above every vocabulary. */
export const IMAGE_KEY_BASE = 0x40000000;

/** Encodes text with the tokenizer's defaults (its post-processor runs, as SGLang tokenizes a prompt). */
export async function encodeText(tokenizer: ProcessorTokenizer, text: string): Promise<number[]> {
  return [...(await tokenizer.encode(text))];
}

/** A request without images: its ids, given or tokenized, must hold no image token. */
export async function textOnlyPrompt(source: PromptSource, tokenizer: ProcessorTokenizer, imageTokenId: number): Promise<PreparedPrompt> {
  const ids = source.inputIds ? [...source.inputIds] : await encodeText(tokenizer, source.prompt!);
  checkImageTokens(ids, imageTokenId, 0, "no images");
  return { inputIds: ids, imageKeys: [], imageTokenCounts: [] };
}

/** The ids carried by the request's single processor_output / precomputed_embedding item, when no prompt is given. */
export function itemInputIds(images: ClassifiedImages): number[] {
  const items = images.kind === "processor_output" || images.kind === "precomputed_embedding" ? images.items : [];
  const lists = items.map((item) => idList(item.input_ids)).filter((ids): ids is number[] => ids !== undefined);
  if (lists.length !== 1) {
    throw new IrisError("INVALID_ARGUMENT", "give the prompt (prompt or inputIds) with processor_output or precomputed_embedding items, or exactly one item carrying input_ids");
  }
  return lists[0];
}

export function countToken(ids: readonly number[], token: number): number {
  let n = 0;
  for (const id of ids) if (id === token) n++;
  return n;
}

/**
 * Token ids given by the caller with images: either one placeholder (or run of them) per image, to be expanded, or
 * already expanded to every image's token count. Anything else is a mismatch the caller must fix.
 */
export function placeImageTokens(ids: readonly number[], imageTokenId: number, tokensPerImage: readonly number[],
  expand: (ids: readonly number[]) => number[], maxInputTokens = Infinity): number[] {
  const found = countToken(ids, imageTokenId);
  const needed = tokensPerImage.reduce((a, b) => a + b, 0);
  if (found === needed) return [...ids];
  const runs = countTokenRuns(ids, imageTokenId);
  if (runs === tokensPerImage.length && found === runs) {
    // The length is known before expanding: a claim of millions of image tokens fails here, not after building them.
    const expanded = ids.length - found + needed;
    if (expanded > maxInputTokens) {
      throw new IrisError("CONTEXT_TOO_LONG", `The input (${expanded} tokens once its ${tokensPerImage.length} image(s) are expanded to ${needed} image tokens) is longer than the model's context length (${maxInputTokens + 1} tokens).`);
    }
    return expand(ids);
  }
  throw new IrisError(
    "IMAGE_TOKEN_MISMATCH",
    `the prompt has ${found} image tokens (id ${imageTokenId}) for ${tokensPerImage.length} image(s) that need ${needed} (${tokensPerImage.join(" + ")}); give one placeholder per image or ids expanded as the processor does`,
  );
}

/** Precomputed embeddings must be [tokens, hidden] with the decoder's hidden size. */
export function checkEmbeddingWidth(embeddings: HostTensor, hidden: number): HostTensor {
  if (embeddings.shape.length !== 2 || embeddings.shape[1] !== hidden) {
    throw new IrisError("INVALID_ARGUMENT", `precomputed embeddings must be [image tokens, ${hidden}] (the model's hidden size), got [${embeddings.shape.join(", ")}]`);
  }
  return embeddings;
}

/** Checks that the prompt's image tokens match the number of embedding rows the images give. */
export function checkImageTokens(ids: readonly number[], imageTokenId: number, rows: number, what: string): void {
  const found = countToken(ids, imageTokenId);
  if (found !== rows) {
    throw new IrisError("IMAGE_TOKEN_MISMATCH", `the prompt has ${found} image tokens (id ${imageTokenId}) but ${what} give ${rows}; SGLang would only warn, Iris refuses rather than misplace image features`);
  }
}

/**
 * Hashes of consecutive row blocks of a tensor (one block per image), over dtype, block shape, the image's layout
 * (its grid or tile count: the same pixel rows laid out differently are a different image) and bytes, so equal
 * images give equal keys and different ones, with overwhelming likelihood, different keys. Keys lie in
 * [2^30, 2^31), above any vocabulary (as SGLang's pad values lie above 1,000,000), so never equal a token id.
 */
export function blockHashes(t: HostTensor, blocks: readonly { rows: number; layout: string; digest?: Uint8Array }[]): number[] {
  const rowBytes = (t.data.byteLength / Math.max(1, t.shape[0])) | 0;
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  let row = 0;
  return blocks.map(({ rows, layout, digest }) => {
    const hash = createHash("sha256");
    hash.update(`${t.dtype}:${rows}x${t.shape.slice(1).join("x")}:${DTYPE_BYTES[t.dtype]}:${layout}`);
    // The block's bytes enter through their digest: an image worker's (`digest`, of exactly these bytes) or made here.
    hash.update(digest ?? contentDigest(bytes.subarray(row * rowBytes, (row + rows) * rowBytes)));
    row += rows;
    return IMAGE_KEY_BASE + (hash.digest().readUInt32BE(0) & 0x3fffffff);
  });
}
