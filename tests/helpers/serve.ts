/**
 * A served demo model for the server's tests: the bundled shapes model in an engine (in this process: the model
 * still runs on its worker thread) behind `IrisServer` on 127.0.0.1 and a free port, pictures drawn by the shapes
 * generator as PNG bytes, data URLs and URLs of a local image host, and the greedy answers the offline engine gives.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { demoGeneratorVersion, demoPrompt, DEMO_MODEL_DIR } from "../../src/demo/demo-model.js";
import { DEFAULT_DEMO_SEEDS } from "../../src/demo/run-demo.js";
import { generateDrawing } from "../../src/demo/shapes/drawing-scene.js";
import { renderDrawing } from "../../src/demo/shapes/drawing-render.js";
import { generateScene, questionsFor, renderScene, type QuestionAnswer, type RenderedImage } from "../../src/demo/shapes/index.js";
import { Engine } from "../../src/engine/engine.js";
import type { EngineOptions } from "../../src/engine/engine-options.js";
import { IrisServer, type ServeOptions } from "../../src/server/server.js";
import { createLogger } from "../../src/utils/logger.js";

export interface Served {
  readonly engine: Engine;
  readonly server: IrisServer;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  close(): Promise<void>;
}

/** The engine with a server's image fences (no local files, no private addresses) unless `engine` says otherwise. */
export async function serveDemo(engine: Partial<EngineOptions> = {}, server: Partial<ServeOptions> = {}): Promise<Served> {
  const llm = await Engine.create({
    modelPath: DEMO_MODEL_DIR, device: "cpu", preprocessWorkers: 1, ...engine,
    imageLoad: { allowLocalFiles: false, allowPrivateNetwork: false, ...engine.imageLoad },
  });
  try {
    const iris = await IrisServer.start(llm, { modelPath: DEMO_MODEL_DIR, port: 0, log: createLogger("error"), ...server });
    return {
      engine: llm, server: iris, url: iris.url,
      async close() {
        await iris.close(5_000);
        await llm.shutdown();
      },
    };
  } catch (err) {
    await llm.shutdown();
    throw err;
  }
}

/** A held-out scene the model answers entirely right (the demo's own picture for the bundled checkpoint). */
export const SCENE_SEED: number = DEFAULT_DEMO_SEEDS[demoGeneratorVersion()];

/** The scene of `seed` as the bundled checkpoint's generator draws it (as `iris demo` does), and its questions. */
async function scene(seed: number): Promise<{ picture: RenderedImage; qas: QuestionAnswer[] }> {
  if (demoGeneratorVersion() === 1) {
    const drawn = generateScene(seed);
    return { picture: renderScene(drawn), qas: questionsFor(drawn) };
  }
  const drawn = generateDrawing(seed);
  return { picture: await renderDrawing(drawn), qas: questionsFor(drawn) };
}

export async function scenePng(seed: number): Promise<Buffer> {
  const { picture } = await scene(seed);
  return sharp(picture.data, { raw: { width: picture.width, height: picture.height, channels: 3 } }).png().toBuffer();
}

export async function sceneDataUrl(seed: number): Promise<string> {
  return `data:image/png;base64,${(await scenePng(seed)).toString("base64")}`;
}

export async function sceneQuestions(seed: number): Promise<QuestionAnswer[]> {
  return (await scene(seed)).qas;
}

/** The offline engine's greedy answer to a question about a picture, as the demo asks it. */
export async function offlineAnswer(engine: Engine, image: string, question: string, maxNewTokens = 32): Promise<string> {
  const result = await engine.generate({ prompt: demoPrompt(question), imageData: [image], samplingParams: { temperature: 0, maxNewTokens } });
  return result.text;
}

/** A local HTTP server that serves `/scene-<seed>.png`; anything else is a 404. */
export async function imageHost(): Promise<{ url: (seed: number) => string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const match = /^\/scene-(\d+)\.png$/.exec(req.url ?? "");
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    void scenePng(Number(match[1])).then((png) => res.writeHead(200, { "content-type": "image/png" }).end(png));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (seed) => `http://127.0.0.1:${port}/scene-${seed}.png`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** POSTs JSON and returns the status, headers and parsed body (text when it is not JSON). */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** The value of one sample of a Prometheus text exposition (`name{labels} value`); 0 when absent. */
export function metricValue(text: string, sample: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}
