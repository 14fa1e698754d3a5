/**
 * The SHA-256 of a typed array's bytes: the part of an image's content key that depends on its data (the engine's
 * key hashes this digest with the image's dtype, shape and layout: engine/prompt-preparer.ts `blockHashes`). Image
 * workers compute it beside the processing, so the caller's thread, which prepares every request, does not hash
 * each picture (a 512x512 picture's 786 KB took ~0.6 ms there on the H200 machine: V8 profile of
 * bench/vlm-shared-picture.ts).
 */
import { createHash } from "node:crypto";

/** 32 bytes in an array of their own (a Buffer may view a shared pool, which a message to a thread would copy whole). */
export function contentDigest(data: ArrayBufferView): Uint8Array {
  return Uint8Array.from(createHash("sha256").update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest());
}
