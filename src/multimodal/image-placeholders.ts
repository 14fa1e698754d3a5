/**
 * Image placeholders: counting them, checking them against the images, and replacing each one with the tokens its
 * image takes, either in the prompt text (as the HF processors do before tokenizing) or in already tokenized ids
 * (as SGLang does when a user passes `inputIds` and raw images).
 */
import { IrisError } from "../core/errors.js";

/** Non-overlapping occurrences of `token` in `text`. */
export function countOccurrences(text: string, token: string): number {
  if (token.length === 0) return 0;
  let count = 0;
  for (let at = text.indexOf(token); at >= 0; at = text.indexOf(token, at + token.length)) count++;
  return count;
}

/** Throws IMAGE_TOKEN_MISMATCH unless there is one placeholder per image. */
export function checkPlaceholderCount(placeholders: number, images: number, token: string, what = "the prompt"): void {
  if (placeholders === images) return;
  throw new IrisError(
    "IMAGE_TOKEN_MISMATCH",
    `${what} has ${placeholders} image placeholder${placeholders === 1 ? "" : "s"} ${token} but ${images} image${images === 1 ? " was" : "s were"} given: ` +
      `put exactly one ${token} where each image goes, in the order of the images`,
  );
}

/** Replaces the i-th occurrence of `token` in `text` by `replacements[i]`; the counts must already match. */
export function replacePlaceholders(text: string, token: string, replacements: readonly string[]): string {
  const parts = text.split(token);
  checkPlaceholderCount(parts.length - 1, replacements.length, token);
  let out = parts[0];
  for (let i = 0; i < replacements.length; i++) out += replacements[i] + parts[i + 1];
  return out;
}

/** How many maximal runs of `token` the ids hold (a placeholder, expanded or not, is one run). */
export function countTokenRuns(ids: ArrayLike<number>, token: number): number {
  let runs = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i] === token && (i === 0 || ids[i - 1] !== token)) runs++;
  return runs;
}

/**
 * Expands image placeholders in tokenized ids: each maximal run of `imageTokenId` (one id, or a run already
 * expanded to any length) stands for one image and becomes `tokensPerImage[i]` copies of the id.
 * Throws IMAGE_TOKEN_MISMATCH when the number of runs differs from the number of images.
 */
export function expandImageTokenIds(inputIds: ArrayLike<number>, imageTokenId: number, tokensPerImage: readonly number[]): number[] {
  checkPlaceholderCount(countTokenRuns(inputIds, imageTokenId), tokensPerImage.length, `token id ${imageTokenId}`, "input_ids");
  const out: number[] = [];
  let image = 0;
  for (let i = 0; i < inputIds.length; i++) {
    if (inputIds[i] !== imageTokenId) {
      out.push(inputIds[i]);
      continue;
    }
    while (i + 1 < inputIds.length && inputIds[i + 1] === imageTokenId) i++;
    for (let k = 0; k < tokensPerImage[image]; k++) out.push(imageTokenId);
    image++;
  }
  return out;
}
