/**
 * Local image files that could hang or flood the engine: only regular files are read, the size is capped before
 * reading (the header is checked before the body), and a read cannot block Node's shared I/O pool. Also the fences
 * on local files and the message for URL schemes that are not fetched.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, ftruncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isIrisError } from "../../../src/core/errors.js";
import { loadImage } from "../../../src/multimodal/image-input.js";
import type { ImageLoadRequest } from "../../../src/multimodal/image-types.js";
import { settlesWithin } from "../../helpers/engine-helpers.js";
import { encodePng, randomRgb } from "./image-files.js";

const png = encodePng({ width: 4, height: 3, colorType: 2, bitDepth: 8, samples: randomRgb(4, 3, 11) });
let dir: string;
let fifo: string;
let good: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "iris-image-file-"));
  fifo = join(dir, "pipe.png");
  execFileSync("mkfifo", [fifo]);
  good = join(dir, "good.png");
  writeFileSync(good, png);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function loadError(input: string, options?: ImageLoadRequest): Promise<string> {
  let message = "";
  // A FIFO read used to hang forever: fail instead of hanging the test run.
  await assert.rejects(settlesWithin(loadImage(input, options), 30_000, `loading ${input}`), (err: unknown) => {
    assert.ok(isIrisError(err, "IMAGE_LOAD"), `expected IrisError IMAGE_LOAD, got ${String(err)}`);
    message = (err as Error).message;
    return true;
  });
  return message;
}

test("a named pipe is refused, not read: its open or read would block a pool thread forever", async () => {
  assert.match(await loadError(fifo), /named pipe \(FIFO\).*only regular files/);
});

test("character devices (/dev/zero, /dev/urandom) are refused before any byte is read", async () => {
  assert.match(await loadError("/dev/zero"), /character device/);
  assert.match(await loadError("/dev/urandom"), /character device/);
});

test("a file over maxBytes is refused from its size, before reading (a 3 GB sparse file)", async () => {
  const sparse = join(dir, "sparse.png");
  const fd = openSync(sparse, "w");
  ftruncateSync(fd, 3 * 1024 ** 3);
  closeSync(fd);
  const before = process.memoryUsage().rss;
  assert.match(await loadError(sparse), /file too large: 3221225472 bytes exceeds the limit of 67108864 \(option maxBytes\)/);
  assert.match(await loadError(good, { maxBytes: 10 }), /file too large/);
  assert.ok(process.memoryUsage().rss - before < 100 * 1024 * 1024, "nothing of the file was read");
});

test("the format's header is checked before the body: a large non-image fails on its first bytes", async () => {
  const text = join(dir, "big-text.png");
  writeFileSync(text, Buffer.alloc(32 * 1024 * 1024, "x"));
  assert.match(await loadError(text), /not an image: unrecognized data/);
  const empty = join(dir, "empty.png");
  writeFileSync(empty, "");
  assert.match(await loadError(empty), /not an image: the file is empty/);
});

test("five FIFOs at once leave the I/O pool free: in-memory PNG bytes and a file still load", async () => {
  const pipes = Array.from({ length: 5 }, (_, i) => {
    const p = join(dir, `pipe-${i}`);
    execFileSync("mkfifo", [p]);
    return loadImage(p).then(() => "loaded", (e: unknown) => e);
  });
  const [fromBytes, fromFile] = await settlesWithin(Promise.all([loadImage(png), loadImage(good)]), 30_000, "decoding beside five FIFOs");
  assert.equal(fromBytes.width, 4);
  assert.equal(fromFile.height, 3);
  for (const outcome of await settlesWithin(Promise.all(pipes), 30_000, "the FIFOs")) assert.ok(isIrisError(outcome, "IMAGE_LOAD"), String(outcome));
});

test("an aborted read rejects with the signal's reason", async () => {
  const controller = new AbortController();
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(loadImage(good, { signal: controller.signal }), (e) => e === reason);
});

test("allowLocalFiles: false refuses every path, existing or not, without saying which exist", async () => {
  const off = { allowLocalFiles: false };
  assert.match(await loadError(good, off), /local file paths are turned off \(option allowLocalFiles\)/);
  assert.match(await loadError("/nonexistent/x.png", off), /local file paths are turned off/);
  assert.match(await loadError("/etc/hostname", off), /local file paths are turned off|not an http\(s\) URL/);
  // Base64 and data URLs still load.
  assert.equal((await loadImage(Buffer.from(png).toString("base64"), off)).width, 4);
});

test("localFileDirs confines paths to directories, after symlinks", async () => {
  const inside = join(dir, "inside");
  mkdirSync(inside);
  writeFileSync(join(inside, "ok.png"), png);
  symlinkSync(good, join(inside, "escape.png"));
  const fence = { localFileDirs: [inside] };
  assert.equal((await loadImage(join(inside, "ok.png"), fence)).width, 4);
  assert.match(await loadError(good, fence), /outside the directories local images may come from/);
  assert.match(await loadError(join(inside, "escape.png"), fence), /outside the directories/);
  assert.match(await loadError(join(inside, "..", "good.png"), fence), /outside the directories/);
});

test("file:// and ftp:// URLs say their scheme is not supported, even for an existing file", async () => {
  assert.match(await loadError(pathToFileURL(good).href), /unsupported URL scheme "file:\/\/"/);
  assert.match(await loadError("ftp://example.com/picture.png"), /unsupported URL scheme "ftp:\/\/"/);
});
