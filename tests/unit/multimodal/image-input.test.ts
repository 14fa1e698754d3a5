/**
 * loadImage: every kind of input, and every failure as an IrisError "IMAGE_LOAD" naming the problem and the input.
 * URLs are served by a local http server.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isIrisError } from "../../../src/core/errors.js";
import { loadImage } from "../../../src/multimodal/image-input.js";
import type { ImageInput, LoadImageOptions } from "../../../src/multimodal/image-types.js";
import { encodePng, randomRgb } from "./image-files.js";

const samples = randomRgb(4, 3, 11);
const png = encodePng({ width: 4, height: 3, colorType: 2, bitDepth: 8, samples });
const bigPng = encodePng({ width: 300, height: 200, colorType: 2, bitDepth: 8, samples: randomRgb(300, 200, 5) });

let server: Server;
let base: string;
let dir: string;
const openSockets = new Set<Socket>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "iris-image-"));
  server = createServer((req, res) => {
    const path = req.url ?? "/";
    if (path === "/image.png") return void res.writeHead(200, { "content-type": "image/png" }).end(png);
    if (path === "/big.png") return void res.writeHead(200, { "content-length": bigPng.length }).end(bigPng);
    if (path === "/chunked.png") {
      // No Content-Length: the limit must hold while reading.
      res.writeHead(200, { "transfer-encoding": "chunked" });
      res.write(bigPng.subarray(0, 50_000));
      return void res.end(bigPng.subarray(50_000));
    }
    if (path === "/redirect") return void res.writeHead(302, { location: "/image.png" }).end();
    if (path === "/text") return void res.writeHead(200).end("hello, not an image");
    if (path === "/slow") return; // never answers
    res.writeHead(404, "Not Found").end("missing");
  });
  server.on("connection", (s) => {
    openSockets.add(s);
    s.on("close", () => openSockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const s of openSockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function expectLoadError(input: ImageInput, pattern: RegExp, options?: LoadImageOptions): Promise<string> {
  let message = "";
  await assert.rejects(loadImage(input, options), (err: unknown) => {
    assert.ok(isIrisError(err, "IMAGE_LOAD"), `expected IrisError IMAGE_LOAD, got ${String(err)}`);
    message = (err as Error).message;
    assert.match(message, pattern);
    return true;
  });
  return message;
}

test("loads a file path, http URL (with redirect), data URL, bare base64, Buffer and Uint8Array alike", async () => {
  const path = join(dir, "a.png");
  writeFileSync(path, png);
  const b64 = png.toString("base64");
  const inputs: ImageInput[] = [path, `${base}/image.png`, `${base}/redirect`, `data:image/png;base64,${b64}`, b64, png, new Uint8Array(png)];
  for (const input of inputs) {
    const img = await loadImage(input);
    assert.deepEqual([img.width, img.height], [4, 3]);
    assert.deepEqual(Array.from(img.data), Array.from(samples));
  }
});

test("a file that is missing, or not an image, is reported with its path", async () => {
  const missing = join(dir, "nope", "missing.png");
  const message = await expectLoadError(missing, /file not found/);
  assert.ok(message.includes(missing));
  await expectLoadError("./relative/thing", /file not found/);
  const textFile = join(dir, "notes.png");
  writeFileSync(textFile, "just some text");
  await expectLoadError(textFile, /not an image/);
  await expectLoadError(dir, /is a directory|not an image/);
});

test("bytes that are not an image, or a corrupt or truncated PNG", async () => {
  await expectLoadError(Buffer.from("GIF? no, plain text"), /not an image/);
  await expectLoadError(new Uint8Array(0), /not an image: the data is empty/);
  await expectLoadError(Buffer.from("<svg xmlns='http://www.w3.org/2000/svg' width='4' height='4'/>"), /not an image/);
  const damaged = Buffer.from(bigPng);
  const idat = damaged.indexOf("IDAT");
  for (let i = idat + 20; i < idat + 60; i++) damaged[i] ^= 0x5a; // data no longer matches its CRC
  await expectLoadError(damaged, /corrupt PNG/);
  await expectLoadError(bigPng.subarray(0, bigPng.length - 400), /corrupt PNG/);
  await expectLoadError(bigPng.subarray(0, 20), /corrupt PNG/);
});

test("URLs: unreachable host, HTTP error status, non-image body, timeout", async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const message = await expectLoadError(`http://127.0.0.1:${port}/x.png`, /unreachable/);
  assert.ok(message.includes(`127.0.0.1:${port}`));
  await expectLoadError(`${base}/absent.png`, /HTTP error 404 Not Found/);
  await expectLoadError(`${base}/text`, /not an image/);
  await expectLoadError(`${base}/slow`, /timed out after 150 ms/, { timeoutMs: 150 });
});

test("too large: download over maxBytes (declared or streamed), image over maxPixels", async () => {
  await expectLoadError(`${base}/big.png`, /too large: \d+ bytes exceeds the limit of 1000/, { maxBytes: 1000 });
  await expectLoadError(`${base}/chunked.png`, /too large: more than 60000 bytes/, { maxBytes: 60_000 });
  await expectLoadError(bigPng, /too large: 300x200 = 60000 pixels exceeds the limit of 59999/, { maxPixels: 59_999 });
  await expectLoadError({ data: new Uint8Array(300), width: 10, height: 10 }, /too large/, { maxPixels: 99 });
  const img = await loadImage(bigPng, { maxPixels: 60_000 });
  assert.equal(img.width * img.height, 60_000);
});

test("bad base64, in a data URL or bare, with the input cut to about 100 characters", async () => {
  await expectLoadError("data:image/png;base64,@@not-base64@@", /invalid base64/);
  await expectLoadError("data:image/png;base64", /malformed data URL/);
  const long = "QUJD" + "!".repeat(5000);
  const message = await expectLoadError(long, /not an existing file, an http\(s\) URL, a data URL, nor valid base64/);
  assert.ok(message.length < 300, `message of ${message.length} chars`);
  assert.match(message, /\.\.\." \(5004 chars\)/);
  await expectLoadError("QUJDRA=", /./); // wrong padding: not valid base64, not a path
  await expectLoadError(Buffer.from("QUJD").toString(), /not an image/); // valid base64 of "ABC"
});

test("decoded pixels: wrong buffer length, bad size or channels", async () => {
  await expectLoadError({ data: new Uint8Array(11), width: 2, height: 2, channels: 3 }, /wrong pixel buffer length 11: 2x2x3 needs 12 bytes/);
  await expectLoadError({ data: new Uint8Array(12), width: 0, height: 2 }, /invalid pixel size/);
  await expectLoadError({ data: new Uint8Array(10), width: 2, height: 1, channels: 5 as 4 }, /invalid channel count 5/);
  await expectLoadError({ data: [1, 2, 3] as unknown as Uint8Array, width: 1, height: 1 }, /must be a Uint8Array/);
  await expectLoadError(42 as unknown as ImageInput, /unsupported image input/);
});
