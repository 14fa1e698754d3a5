/**
 * Streaming an OpenAI response: the first chunk is awaited before the stream opens (so an early failure keeps its
 * HTTP status), then one SSE event per engine chunk in OpenAI's chunk shape, an error event if an output fails
 * midway, the usage chunk when `stream_options.include_usage` asks, and `[DONE]`.
 */
import type { FastifyReply } from "fastify";
import type { StreamChunk } from "../core/request.js";
import { failureOf, type Generation } from "./generation.js";
import { toHttpError } from "./http-errors.js";
import { usageOf, type Usage } from "./openai-response.js";
import type { ServerContext } from "./session.js";
import { SseStream } from "./sse.js";

export interface StreamShape {
  /** The choice for one engine chunk, or undefined when it carries nothing worth an event. */
  choice(chunk: StreamChunk): unknown;
  /** A whole event around choices; `usage` null marks chunks of a stream that ends with a usage chunk. */
  event(choices: unknown[], usage?: Usage | null): unknown;
}

export async function streamOpenAI(ctx: ServerContext, reply: FastifyReply, generation: Generation, shape: StreamShape, n: number, includeUsage: boolean): Promise<void> {
  const first = await generation.first();
  reply.hijack();
  const sse = new SseStream(reply.raw);
  sse.open();
  const finals = new Map<number, StreamChunk>();
  const emit = (chunk: StreamChunk) => {
    const choice = shape.choice(chunk);
    if (chunk.metaInfo.finishReason) finals.set(chunk.index, chunk);
    if (choice !== undefined) sse.send(shape.event([choice], includeUsage ? null : undefined));
  };
  if (first) emit(first);
  for await (const chunk of generation.rest()) {
    const error = failureOf(chunk);
    if (error) {
      // The status line is long gone: the error travels as an event, in the same shape as an error response.
      if (!generation.wasCancelled) sse.send(toHttpError(error, ctx.log.error).body());
      // The other outputs (n > 1) end with it: the response cannot be completed.
      generation.abort(false);
      break;
    }
    emit(chunk);
  }
  if (includeUsage && !generation.wasCancelled) sse.send(shape.event([], usageOf([...finals.values()], n)));
  sse.done();
}
