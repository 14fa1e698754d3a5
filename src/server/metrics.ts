/**
 * `GET /metrics`: Prometheus metrics through prom-client (the maintained client for Node.js), in a registry of the
 * server's own so two servers in one process (tests) never mix their counts. Counters and histograms are recorded
 * as requests go; the engine's state (queue, running requests, KV cache use) is asked of the engine at each scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ServerInfo } from "../engine/server-info.js";

/** How a request ended, as the `outcome` label counts it. */
export type Outcome = "success" | "client_error" | "server_error" | "rejected" | "cancelled";

/** Latency buckets in seconds: from a few milliseconds (the demo model on a CPU) to a minute (long prompts). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"endpoint" | "outcome">;
  private readonly promptTokens: Counter;
  private readonly cachedTokens: Counter;
  private readonly generationTokens: Counter;
  private readonly ttft: Histogram;
  private readonly itl: Histogram;
  private readonly e2e: Histogram;
  private cachedSum = 0;
  private promptSum = 0;

  /** `info` reads the engine's state at each scrape; `queued` is the server's own count of waiting requests. */
  constructor(info: () => Promise<ServerInfo>, queued: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "iris_" });
    this.requests = new Counter({ name: "iris_requests_total", help: "HTTP generation requests by endpoint and outcome", labelNames: ["endpoint", "outcome"], registers });
    this.promptTokens = new Counter({ name: "iris_prompt_tokens_total", help: "Prompt tokens of finished requests", registers });
    this.cachedTokens = new Counter({ name: "iris_cached_prompt_tokens_total", help: "Prompt tokens served from the prefix cache", registers });
    this.generationTokens = new Counter({ name: "iris_generation_tokens_total", help: "Tokens generated", registers });
    this.ttft = new Histogram({ name: "iris_time_to_first_token_seconds", help: "Time from the request's arrival to its first token", buckets: LATENCY_BUCKETS, registers });
    this.itl = new Histogram({ name: "iris_inter_token_latency_seconds", help: "Time between successive streamed outputs of a request", buckets: LATENCY_BUCKETS, registers });
    this.e2e = new Histogram({ name: "iris_e2e_request_latency_seconds", help: "Time from the request's arrival to its last token", buckets: LATENCY_BUCKETS, registers });
    // The engine's state is one question to its worker per scrape, shared by the gauges below.
    let pending: Promise<ServerInfo> | undefined;
    const engineState = () => (pending ??= info().finally(() => (pending = undefined)));
    const gauge = (name: string, help: string, read: (s: ServerInfo) => number) => new Gauge({
      name, help, registers,
      async collect() {
        this.set(read(await engineState()));
      },
    });
    new Gauge({ name: "iris_queue_depth", help: "Requests admitted by the server beyond those the engine runs at once", registers, collect() {
      this.set(queued());
    } });
    gauge("iris_engine_waiting_requests", "Requests the scheduler holds waiting for KV pages or a batch slot", (s) => s.internalStates[0]?.numWaiting ?? 0);
    gauge("iris_running_requests", "Requests the scheduler is running", (s) => s.internalStates[0]?.numRunning ?? 0);
    gauge("iris_kv_cache_usage_ratio", "Share of KV cache pages in use (running requests and the prefix cache)", kvUsage);
    const hitRate = () => (this.promptSum === 0 ? 0 : this.cachedSum / this.promptSum);
    new Gauge({ name: "iris_prefix_cache_hit_rate", help: "Share of prompt tokens served from the prefix cache, over all finished requests", registers, collect() {
      this.set(hitRate());
    } });
  }

  /** A finished (or failed) request of an endpoint. */
  request(endpoint: string, outcome: Outcome): void {
    this.requests.inc({ endpoint, outcome });
  }

  /** One engine request's tokens, once it finished. */
  tokens(prompt: number, cached: number, generated: number): void {
    this.promptTokens.inc(prompt);
    this.cachedTokens.inc(cached);
    this.generationTokens.inc(generated);
    this.promptSum += prompt;
    this.cachedSum += cached;
  }

  firstToken(seconds: number): void {
    this.ttft.observe(seconds);
  }

  interToken(seconds: number): void {
    this.itl.observe(seconds);
  }

  finished(seconds: number): void {
    this.e2e.observe(seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function kvUsage(s: ServerInfo): number {
  const total = Math.floor(s.maxTotalNumTokens / s.pageSize);
  const free = s.internalStates[0]?.freePages ?? total;
  return total === 0 ? 0 : Math.min(1, Math.max(0, (total - free) / total));
}
