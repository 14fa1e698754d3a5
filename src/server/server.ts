/**
 * `iris serve`'s HTTP server: OpenAI's and SGLang's endpoints over one `Engine`, on fastify.
 *
 * Why fastify (5.x, pinned) rather than hono: it is Node-native (no fetch-API adapter between the socket and the
 * route), so a route reads the raw response's `close` to abort a disconnected client's generation and writes
 * server-sent events straight to the socket; it enforces the body size limit while reading (413 before a large body
 * is buffered), parses JSON safely (prototype-poisoning checks), and drains gracefully (`close()` stops accepting,
 * answers 503 on kept-alive connections and waits for requests in flight).
 *
 * The server's thread never runs model code: the engine runs the model on its worker thread and images on its
 * preprocessing workers; here requests are parsed, prompts rendered and tokens turned into JSON.
 */
import { basename, resolve } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import type { Engine } from "../engine/engine.js";
import type { Logger } from "../utils/logger.js";
import { Admission } from "./admission.js";
import { apiKeyCheck } from "./auth.js";
import { ChatPromptBuilder } from "./chat-prompt.js";
import type { Generation } from "./generation.js";
import { HttpError, toHttpError } from "./http-errors.js";
import { ServerMetrics } from "./metrics.js";
import { TokenTexts } from "./openai-response.js";
import { registerOpenAIRoutes } from "./openai-routes.js";
import type { ServerContext } from "./session.js";
import { registerSGLangRoutes } from "./sglang-routes.js";

export interface ServeOptions {
  /** The model directory the engine was created with (for the chat template and `/v1/models`). */
  readonly modelPath: string;
  /** Default 127.0.0.1: reachable from this machine only unless the operator says otherwise. */
  readonly host?: string;
  /** Default 30000 (SGLang's); 0 picks a free port. */
  readonly port?: number;
  /** When set, every route but /health needs `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** The name clients use as `model`; default the model directory's name. */
  readonly servedModelName?: string;
  /** A built-in chat template for /v1/chat/completions; default the model's own Jinja template. */
  readonly chatTemplate?: string;
  /** Requests waiting beyond the engine's running batch before new ones get 503 (default 256). */
  readonly maxQueuedRequests?: number;
  /** The largest request body accepted, in bytes (default 32 MiB: a few data-URL images). */
  readonly maxBodyBytes?: number;
  /** Where the server logs (internal errors, drain); the engine's logger by default. */
  readonly log: Logger;
}

export const DEFAULT_PORT = 30000;
export const DEFAULT_MAX_QUEUED_REQUESTS = 256;
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

export class IrisServer {
  private constructor(private readonly app: FastifyInstance, private readonly ctx: ServerContext, readonly url: string) {}

  /** Builds the server over a ready engine and starts listening; resolves once connections are accepted. */
  static async start(engine: Engine, options: ServeOptions): Promise<IrisServer> {
    const info = await engine.getServerInfo();
    const admission = new Admission(info.maxRunningRequests, options.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS);
    const ctx: ServerContext = {
      engine,
      metrics: new ServerMetrics(() => engine.getServerInfo(), () => admission.waiting),
      admission,
      prompts: ChatPromptBuilder.create(options.modelPath, options.chatTemplate),
      texts: new TokenTexts(engine.tokenizer),
      modelName: options.servedModelName ?? basename(resolve(options.modelPath)),
      modelPath: options.modelPath,
      vocabSize: engine.config.text.vocabSize,
      log: options.log,
      live: new Set<Generation>(),
    };
    const app = Fastify({ bodyLimit: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, logger: false, return503OnClosing: true });
    if (options.apiKey !== undefined) {
      const check = apiKeyCheck(options.apiKey);
      app.addHook("onRequest", async (request) => check(request.url.split("?")[0], request.headers.authorization));
    }
    app.setErrorHandler((err, _request, reply) => {
      const error = toHttpError(err, options.log.error);
      if (reply.sent) return;
      void reply.code(error.status).headers(error.headers).send(error.body());
    });
    app.setNotFoundHandler((request, reply) => {
      const error = new HttpError(404, `no route ${request.method} ${request.url.split("?")[0]}`, "not_found");
      void reply.code(404).send(error.body());
    });
    app.get("/metrics", async (_request, reply) => reply.type(ctx.metrics.contentType).send(await ctx.metrics.text()));
    registerOpenAIRoutes(app, ctx);
    registerSGLangRoutes(app, ctx);
    const address = await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? DEFAULT_PORT });
    return new IrisServer(app, ctx, address);
  }

  /** The port listened on (useful with port 0). */
  get port(): number {
    return Number(new URL(this.url).port);
  }

  /**
   * Stops accepting requests (new ones are answered 503), lets those in flight finish for up to `deadlineMs`, then
   * aborts what is left and closes every connection. The engine is left running: its owner shuts it down.
   */
  async close(deadlineMs: number): Promise<{ finished: boolean; aborted: number }> {
    const idle = this.ctx.admission.drain();
    const closing = this.app.close();
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([idle.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), deadlineMs)))]);
    clearTimeout(timer);
    const aborted = this.ctx.live.size;
    if (!inTime) {
      this.ctx.log.warning(`drain deadline of ${deadlineMs} ms passed: aborting ${aborted} requests in flight`);
      for (const generation of this.ctx.live) generation.abort(false);
      // Aborted generations end within a step; their clients get an error event or a 503 before the sockets close.
      await Promise.race([idle, new Promise((r) => setTimeout(r, 2_000).unref())]);
      this.app.server.closeAllConnections();
    }
    // Connections that served the last requests are idle now; kept alive they would hold the close for seconds.
    this.app.server.closeIdleConnections();
    await closing;
    return { finished: inTime, aborted: inTime ? 0 : aborted };
  }
}
