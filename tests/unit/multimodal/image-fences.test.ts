/**
 * Fences on image URLs for servers: `allowedHosts` limits the hosts reached, on the first request and on every
 * redirect; `allowPrivateNetwork: false` refuses loopback, private and other non-public addresses, checked on the
 * address resolved by DNS (the one connected to) as well as on address literals.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isIrisError } from "../../../src/core/errors.js";
import { loadImage } from "../../../src/multimodal/image-input.js";
import type { ImageLoadRequest } from "../../../src/multimodal/image-types.js";
import { isPublicAddress } from "../../../src/multimodal/public-address.js";
import { encodePng, randomRgb } from "./image-files.js";

const png = encodePng({ width: 4, height: 3, colorType: 2, bitDepth: 8, samples: randomRgb(4, 3, 11) });
let server: Server;
let port: number;
let requests = 0;

before(async () => {
  server = createServer((req, res) => {
    requests++;
    if (req.url === "/image.png") return void res.writeHead(200).end(png);
    if (req.url === "/to-localhost") return void res.writeHead(302, { location: `http://localhost:${port}/image.png` }).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

async function refused(url: string, options: ImageLoadRequest, pattern: RegExp): Promise<void> {
  await assert.rejects(loadImage(url, options), (e: unknown) => isIrisError(e, "IMAGE_LOAD") && pattern.test((e as Error).message));
}

test("public addresses are told from loopback, private, link-local and reserved ones", () => {
  for (const a of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) assert.equal(isPublicAddress(a), true, a);
  for (const a of ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "::1", "::", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "224.0.0.1", "not an address"]) {
    assert.equal(isPublicAddress(a), false, a);
  }
});

test("allowPrivateNetwork: false refuses a loopback literal and a name that resolves to loopback, before any request", async () => {
  const before = requests;
  const fence = { allowPrivateNetwork: false };
  await refused(`http://127.0.0.1:${port}/image.png`, fence, /127\.0\.0\.1 is a loopback, private or otherwise non-public address \(option allowPrivateNetwork\)/);
  await refused(`http://[::1]:${port}/image.png`, fence, /::1 is a loopback/);
  await refused(`http://localhost:${port}/image.png`, fence, /localhost resolves to (127\.0\.0\.1|::1), a loopback/);
  assert.equal(requests, before, "no request reached the server");
  // Without the fence the same URL loads (SGLang's default).
  assert.equal((await loadImage(`http://127.0.0.1:${port}/image.png`)).width, 4);
});

test("allowedHosts admits its hosts and refuses others, a redirect's target included", async () => {
  const fence = { allowedHosts: ["127.0.0.1"] };
  assert.equal((await loadImage(`http://127.0.0.1:${port}/image.png`, fence)).width, 4);
  await refused(`http://localhost:${port}/image.png`, fence, /host localhost is not among the allowed hosts \(option allowedHosts\)/);
  const before = requests;
  await refused(`http://127.0.0.1:${port}/to-localhost`, fence, /host localhost is not among the allowed hosts.*redirected to http:\/\/localhost/);
  assert.equal(requests, before + 1, "the redirect's target was never requested");
});
