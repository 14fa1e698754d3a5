/**
 * The engine's results in OpenAI's response shapes: chat completions and their stream chunks, text completions,
 * usage, finish reasons, and logprobs (the engine's `[logprob, tokenId, null]` tuples with each token's text decoded).
 */
import type { LogprobTuple } from "../core/logprobs.js";
import type { FinishReason, MetaInfo, StreamChunk } from "../core/request.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

/** What every response of one request shares. */
export interface ResponseHead {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

export function finishReasonOf(reason: FinishReason | null): "stop" | "length" | null {
  if (reason === null) return null;
  return reason.type === "length" ? "length" : "stop";
}

/** Usage over the final chunks: a prompt counts once however many samples (n) it gave. */
export function usageOf(finals: readonly StreamChunk[], n: number): Usage {
  let prompt = 0;
  let cached = 0;
  let completion = 0;
  for (const chunk of finals) {
    completion += chunk.metaInfo.completionTokens;
    if (chunk.index % n !== 0) continue;
    prompt += chunk.metaInfo.promptTokens;
    cached += chunk.metaInfo.cachedTokens;
  }
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: cached } };
}

/** Decodes token texts for logprobs, remembering them: a vocabulary's tokens repeat across requests. */
export class TokenTexts {
  private readonly texts = new Map<number, string>();

  constructor(private readonly tokenizer: Tokenizer) {}

  text(id: number): string {
    let text = this.texts.get(id);
    if (text === undefined) {
      text = this.tokenizer.decode([id]);
      // The cache is bounded by the vocabulary, which the ids come from.
      this.texts.set(id, text);
    }
    return text;
  }

  private entry([logprob, id]: LogprobTuple): TokenLogprob {
    const token = this.text(id);
    return { token, logprob: logprob ?? 0, bytes: [...Buffer.from(token, "utf8")] };
  }

  /** Chat's `logprobs.content` for output tokens [from, to) of `meta`. */
  chatContent(meta: MetaInfo, from: number, to = meta.outputTokenLogprobs?.length ?? 0): (TokenLogprob & { top_logprobs: TokenLogprob[] })[] {
    const tokens = meta.outputTokenLogprobs ?? [];
    const tops = meta.outputTopLogprobs;
    const out = [];
    for (let i = from; i < Math.min(to, tokens.length); i++) {
      out.push({ ...this.entry(tokens[i]), top_logprobs: (tops?.[i] ?? []).map((t) => this.entry(t)) });
    }
    return out;
  }

  /** Completions' legacy logprobs object for output tokens [from, to) of `meta`; `offset` is the text before them. */
  completionLogprobs(meta: MetaInfo, from: number, offset: number): { tokens: string[]; token_logprobs: number[]; top_logprobs: Record<string, number>[] | null; text_offset: number[] } {
    const tokens = (meta.outputTokenLogprobs ?? []).slice(from);
    const tops = meta.outputTopLogprobs?.slice(from);
    const texts = tokens.map(([, id]) => this.text(id));
    const textOffset: number[] = [];
    let at = offset;
    for (const t of texts) {
      textOffset.push(at);
      at += t.length;
    }
    return {
      tokens: texts,
      token_logprobs: tokens.map(([lp]) => lp ?? 0),
      top_logprobs: tops ? tops.map((row) => Object.fromEntries(row.map(([lp, id]) => [this.text(id), lp ?? 0]))) : null,
      text_offset: textOffset,
    };
  }
}

export function chatCompletion(head: ResponseHead, finals: readonly StreamChunk[], n: number, texts: TokenTexts | undefined) {
  return {
    id: head.id,
    object: "chat.completion",
    created: head.created,
    model: head.model,
    choices: finals.map((chunk) => ({
      index: chunk.index,
      message: { role: "assistant", content: chunk.text },
      logprobs: texts ? { content: texts.chatContent(chunk.metaInfo, 0) } : null,
      finish_reason: finishReasonOf(chunk.metaInfo.finishReason),
    })),
    usage: usageOf(finals, n),
  };
}

export function chatChunk(head: ResponseHead, choices: unknown[], usage?: Usage | null) {
  return { id: head.id, object: "chat.completion.chunk", created: head.created, model: head.model, choices, ...(usage !== undefined && { usage }) };
}

export function textCompletion(head: ResponseHead, finals: readonly StreamChunk[], n: number, texts: TokenTexts | undefined) {
  return {
    id: head.id,
    object: "text_completion",
    created: head.created,
    model: head.model,
    choices: finals.map((chunk) => ({
      index: chunk.index,
      text: chunk.text,
      logprobs: texts ? texts.completionLogprobs(chunk.metaInfo, 0, 0) : null,
      finish_reason: finishReasonOf(chunk.metaInfo.finishReason),
    })),
    usage: usageOf(finals, n),
  };
}

export function completionChunk(head: ResponseHead, choices: unknown[], usage?: Usage | null) {
  return { id: head.id, object: "text_completion", created: head.created, model: head.model, choices, ...(usage !== undefined && { usage }) };
}
