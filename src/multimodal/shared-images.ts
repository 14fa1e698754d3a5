/**
 * Raw images that several requests of one generate call share (the same object, or the same path, URL or base64
 * string): loaded and processed once for all of them, with their features' bytes in shared memory, so each request's
 * message to the engine's core carries them without a copy.
 *
 * 512 questions about one picture cost the caller's thread ~1.2 ms a request, of which the picture's copy into an
 * image worker's message and back into the core's was ~0.2 ms, with 512 decodes, resizes and digests of the same
 * bytes on the workers (H200 cpu profile of bench/vlm-shared-picture.ts at eccdab7). SGLang processes each request's
 * images apart; the result here is the same bytes, made once.
 */
import { contentDigest } from "../core/content-digest.js";
import type { HostArray } from "../core/dtype.js";
import type { FeatureOutput, ImageFeaturizer, ImageFeatures } from "./image-features.js";
import type { ImageInput, ImageLoadRequest, ImageShare } from "./image-types.js";

export class SharedImages implements ImageShare {
  /** Each repeated image's features made so far, by output kind. */
  private readonly made = new Map<unknown, Map<string, Promise<unknown>>>();

  private constructor(private readonly repeated: ReadonlySet<unknown>) {}

  /** The share for one call's requests' images, or undefined when no image appears twice (nothing to share). */
  static of(imageLists: readonly (readonly unknown[])[]): SharedImages | undefined {
    const seen = new Set<unknown>(), repeated = new Set<unknown>();
    for (const images of imageLists) {
      for (const image of images) (seen.has(image) ? repeated : seen).add(image);
    }
    return repeated.size > 0 ? new SharedImages(repeated) : undefined;
  }

  once<T>(image: unknown, kind: string, make: () => Promise<T>): Promise<T> | null {
    if (!this.repeated.has(image)) return null;
    let byKind = this.made.get(image);
    if (byKind === undefined) this.made.set(image, (byKind = new Map()));
    let made = byKind.get(kind) as Promise<T> | undefined;
    if (made === undefined) byKind.set(kind, (made = make()));
    return made;
  }
}

/**
 * One image's features through `featurizer`, made once per call where the request's share holds the image. The shared
 * job runs without the first request's abort signal (the others still want it); each request's own wait for it stays
 * abortable (the engine races its preparation with its signal).
 */
export function featurizeOnce(featurizer: ImageFeaturizer, image: ImageInput, options: ImageLoadRequest | undefined,
  output: FeatureOutput): Promise<ImageFeatures> {
  const shared = options?.shared?.once(image, output, async () =>
    inSharedMemory(await featurizer.featurize(image, { ...options, signal: undefined }, output)));
  return shared ?? featurizer.featurize(image, options, output);
}

/** The features with their bytes copied into a SharedArrayBuffer (posted between threads without a copy) and digested. */
function inSharedMemory(features: ImageFeatures): ImageFeatures {
  const source = features.pixel_values.data;
  const bytes = new Uint8Array(new SharedArrayBuffer(source.byteLength));
  bytes.set(new Uint8Array(source.buffer, source.byteOffset, source.byteLength));
  const Typed = source.constructor as new (buffer: ArrayBufferLike) => HostArray;
  return {
    ...features,
    pixel_values: { ...features.pixel_values, data: new Typed(bytes.buffer) },
    digest: features.digest ?? contentDigest(bytes),
  };
}
