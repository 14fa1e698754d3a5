/**
 * What every generation route shares around its own work: a place in the bounded queue, the generation's abort when
 * the client disconnects before its answer is complete, the set of live generations (the drain deadline aborts
 * them), and one count per request by outcome.
 */
import type { FastifyReply } from "fastify";
import type { Engine } from "../engine/engine.js";
import type { Logger } from "../utils/logger.js";
import type { Admission } from "./admission.js";
import type { ChatPromptBuilder } from "./chat-prompt.js";
import type { Generation } from "./generation.js";
import { HttpError, statusOfCode } from "./http-errors.js";
import type { ServerMetrics, Outcome } from "./metrics.js";
import type { TokenTexts } from "./openai-response.js";
import { IrisError } from "../core/errors.js";

export interface ServerContext {
  readonly engine: Engine;
  readonly metrics: ServerMetrics;
  readonly admission: Admission;
  readonly prompts: ChatPromptBuilder;
  readonly texts: TokenTexts;
  /** The name clients use in `model` (`--served-model-name`, by default the model directory's name). */
  readonly modelName: string;
  readonly modelPath: string;
  readonly vocabSize: number;
  readonly log: Logger;
  /** Generations in flight, so a drain that runs out of time can end them. */
  readonly live: Set<Generation>;
}

export class Session {
  private release: (() => void) | undefined;
  private generation: Generation | undefined;

  constructor(private readonly ctx: ServerContext, private readonly reply: FastifyReply) {}

  /** Takes `weight` places in the queue (n samples count n) or throws 503. */
  admit(weight: number): void {
    this.release = this.ctx.admission.admit(weight);
  }

  /** Tracks a started generation: it is aborted if the client goes away before the response is complete. */
  track(generation: Generation): Generation {
    this.generation = generation;
    this.ctx.live.add(generation);
    const res = this.reply.raw;
    res.once("close", () => {
      if (!res.writableFinished) generation.abort();
    });
    return generation;
  }

  get cancelled(): boolean {
    return this.generation?.wasCancelled ?? false;
  }

  end(): void {
    this.release?.();
    if (this.generation) this.ctx.live.delete(this.generation);
  }
}

/** Runs a route's work inside a session and counts the request by how it ended. */
export async function tracked<T>(ctx: ServerContext, endpoint: string, reply: FastifyReply, work: (session: Session) => Promise<T>): Promise<T> {
  const session = new Session(ctx, reply);
  try {
    const result = await work(session);
    ctx.metrics.request(endpoint, session.cancelled ? "cancelled" : "success");
    return result;
  } catch (err) {
    ctx.metrics.request(endpoint, session.cancelled ? "cancelled" : outcomeOf(err));
    throw err;
  } finally {
    session.end();
  }
}

function outcomeOf(err: unknown): Outcome {
  const status = err instanceof HttpError ? err.status : err instanceof IrisError ? statusOfCode(err.code) : 500;
  if (status === 503) return "rejected";
  return status < 500 ? "client_error" : "server_error";
}
