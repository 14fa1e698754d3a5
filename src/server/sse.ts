/**
 * Server-sent events on a raw Node response (the route has taken the response over from the framework): `data:`
 * lines of JSON and the closing `data: [DONE]`, as OpenAI and SGLang stream. Writes after the client went away are
 * dropped: the generation is being aborted by then, and a write on a closed socket would only raise an error.
 */
import type { ServerResponse } from "node:http";

export class SseStream {
  constructor(private readonly res: ServerResponse) {
    // A client that resets the connection makes the socket emit an error; the close handler does the work.
    res.on("error", () => undefined);
  }

  open(): void {
    this.res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      // Proxies such as nginx would otherwise buffer the stream.
      "x-accel-buffering": "no",
    });
    // Headers go out now, so the client sees the stream open before the first token.
    this.res.flushHeaders();
  }

  send(data: unknown): void {
    if (!this.closed) this.res.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream with `[DONE]`. */
  done(): void {
    if (this.closed) return;
    this.res.write("data: [DONE]\n\n");
    this.res.end();
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }
}
