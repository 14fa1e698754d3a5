/**
 * The engine core's side of the grammar worker: opens a matcher per request with a constraint, sends the tokens
 * each step sampled for them and takes back the masks of their next tokens (one round trip per step), and closes
 * matchers when their requests end.
 */
import type { MessagePort } from "node:worker_threads";
import type { GrammarSpec } from "../core/sampling-params.js";
import type { FromGrammarMatchers, MaskUpdate, ToGrammarMatchers } from "./grammar-protocol.js";

export type { MaskUpdate };

export class GrammarMatchers {
  private readonly opening = new Map<string, (u: MaskUpdate) => void>();
  private readonly advancing = new Map<number, { rids: readonly string[]; resolve: (u: readonly MaskUpdate[]) => void }>();
  private nextId = 0;

  constructor(private readonly port: MessagePort) {
    port.on("message", (m: FromGrammarMatchers) => {
      if (m.type === "opened") {
        this.opening.get(m.update.rid)?.(m.update);
        this.opening.delete(m.update.rid);
      } else {
        this.advancing.get(m.id)?.resolve(m.updates);
        this.advancing.delete(m.id);
      }
    });
    // The worker gone (it failed, or the engine is shutting down): what waits on it fails instead of hanging.
    port.on("close", () => {
      const error = { code: "INTERNAL" as const, message: "the grammar worker stopped" };
      for (const [rid, resolve] of this.opening) resolve({ rid, mask: null, error });
      for (const { rids, resolve } of this.advancing.values()) resolve(rids.map((rid) => ({ rid, mask: null, error })));
      this.opening.clear();
      this.advancing.clear();
    });
    // The port must not keep the core's thread alive once its loop has ended.
    port.unref();
  }

  /** A matcher at the grammar's start for request `rid`; resolves to its first mask. */
  open(rid: string, spec: GrammarSpec, stopTokenIds: readonly number[]): Promise<MaskUpdate> {
    return new Promise((resolve) => {
      this.opening.set(rid, resolve);
      this.post({ type: "open", rid, spec, stopTokenIds });
    });
  }

  /** Each request's newly sampled token, accepted by its matcher; resolves to the masks of the next tokens. */
  advance(tokens: readonly { rid: string; token: number }[]): Promise<readonly MaskUpdate[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.advancing.set(id, { rids: tokens.map((t) => t.rid), resolve });
      this.post({ type: "advance", id, tokens });
    });
  }

  close(rid: string): void {
    this.post({ type: "close", rid });
  }

  private post(message: ToGrammarMatchers): void {
    this.port.postMessage(message);
  }
}
