/**
 * Strict names: every engine option, request field and sampling parameter Iris does not know is an INVALID_ARGUMENT
 * that names it (with "did you mean" for SGLang's snake_case names and near misses), and SGLang's names that mean
 * nothing in Iris are refused with the reason. Never silence.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { GenerateRequest } from "../../src/core/request.js";
import { DEMO_MODEL_DIR } from "../../src/demo/demo-model.js";
import { Engine } from "../../src/engine/engine.js";
import type { EngineOptions } from "../../src/engine/engine-options.js";
import { ENGINE_OPTION_NAMES, REQUEST_FIELD_NAMES } from "../../src/engine/option-names.js";
import { rejectsWith } from "../helpers/engine-helpers.js";

const create = (extra: Record<string, unknown>) => Engine.create({ modelPath: DEMO_MODEL_DIR, ...extra } as EngineOptions);

/** SGLang's `ServerArgs` an offline Engine user passes (reference/sglang-engine-api.md section 4), in snake_case. */
const SGLANG_SERVER_ARGS = [
  "model_path", "tokenizer_path", "tokenizer_mode", "skip_tokenizer_init", "trust_remote_code", "load_format", "dtype",
  "quantization", "kv_cache_dtype", "context_length", "chat_template", "enable_multimodal", "tp_size", "dp_size",
  "pp_size", "mem_fraction_static", "max_running_requests", "max_queued_requests", "max_total_tokens",
  "chunked_prefill_size", "max_prefill_tokens", "schedule_policy", "page_size", "disable_radix_cache",
  "attention_backend", "prefill_attention_backend", "decode_attention_backend", "mm_attention_backend",
  "sampling_backend", "grammar_backend", "disable_cuda_graph", "cuda_graph_max_bs", "cuda_graph_bs",
  "disable_overlap_schedule", "random_seed", "log_level", "stream_interval", "incremental_streaming_output",
  "allow_auto_truncate", "enable_return_hidden_states", "enable_custom_logit_processor", "preferred_sampling_params",
  "disable_fast_image_processor", "keep_mm_feature_on_device", "limit_mm_data_per_request", "mm_process_config",
  "mm_processor_worker_num", "mm_io_worker_num", "enable_memory_saver", "served_model_name",
];

/**
 * SGLang's `Engine.generate` parameters (section 1.1) besides prompt, input_ids, image_data, sampling_params, rid
 * and the logprob fields (return_logprob, logprob_start_len, top_logprobs_num, token_ids_logprob), which Iris has.
 */
const SGLANG_REQUEST_FIELDS = [
  "audio_data", "video_data", "mm_hashes", "mm_content_hashes", "return_text_in_logprobs", "lora_path", "custom_logit_processor", "require_reasoning",
  "return_hidden_states", "return_routed_experts", "routed_experts_start_len", "stream", "bootstrap_host",
  "bootstrap_port", "bootstrap_room", "routed_dp_rank", "disagg_prefill_dp_rank", "data_parallel_rank",
  "external_trace_header", "session_params", "priority", "session_id", "cache_salt", "input_embeds",
];

describe("strict engine options", () => {
  test("every SGLang server argument is either an Iris option or refused with a reason or a camelCase hint", async () => {
    for (const name of SGLANG_SERVER_ARGS) {
      const camel = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      // model_path is given by every call; quantization is spelled the same in Iris (its value is checked instead).
      if (name === "model_path" || name === "quantization") continue;
      const error = await rejectsWith(create({ [name]: 1 }), "INVALID_ARGUMENT");
      assert.match(error.message, new RegExp(`\\b${name}\\b`), error.message);
      assert.match(error.message, /did you mean \w+\?|is not supported by Iris: \w/, `${name}: ${error.message}`);
      if (ENGINE_OPTION_NAMES.known.has(camel)) assert.match(error.message, new RegExp(`did you mean ${camel}\\?`));
    }
  });

  test("the issue's examples: tp_size, log_level, memFractionStatic, a near miss, several at once", async () => {
    await rejectsWith(create({ tp_size: 1 }), "INVALID_ARGUMENT", /unknown engine option tp_size \(did you mean tpSize\?\)/);
    await rejectsWith(create({ log_level: "info" }), "INVALID_ARGUMENT", /log_level \(did you mean logLevel\?\)/);
    // Known, and a GPU setting: on the cpu device it says what sizes the cache there.
    await rejectsWith(create({ memFractionStatic: 0.8 }), "INVALID_ARGUMENT", /memFractionStatic sizes GPU memory; on the cpu device give kvCacheMemoryMB or maxTotalTokens/);
    await rejectsWith(create({ memFractionStatic: 1.5, device: "cuda" }), "INVALID_ARGUMENT", /memFractionStatic must be a number between 0 and 1/);
    await rejectsWith(create({ maxRunningRequest: 4 }), "INVALID_ARGUMENT", /did you mean maxRunningRequests\?/);
    await rejectsWith(create({ dp_size: 2, contextLenght: 9 }), "INVALID_ARGUMENT", /dp_size is not supported.*; unknown engine option contextLenght \(did you mean contextLength\?\)/);
    await rejectsWith(create({ frobnicate: true }), "INVALID_ARGUMENT", /unknown engine option frobnicate; known: modelPath, /);
    await rejectsWith(create({ logLevel: "verbose" }), "INVALID_ARGUMENT", /logLevel must be one of debug, info, warning, error/);
  });
});

describe("strict request fields", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: DEMO_MODEL_DIR });
  });
  after(() => engine.shutdown());
  const prompt = "<|im_start|>user\nhow many shapes?<|im_end|>\n<|im_start|>assistant\n";

  test("every SGLang generate parameter Iris lacks is refused with a reason or a hint, naming it", async () => {
    for (const name of SGLANG_REQUEST_FIELDS) {
      const camel = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      for (const key of [name, camel]) {
        const error = await rejectsWith(engine.generate({ prompt, [key]: 1 } as GenerateRequest), "INVALID_ARGUMENT");
        assert.match(error.message, new RegExp(`request field ${key}\\b`), error.message);
        assert.ok(!REQUEST_FIELD_NAMES.known.has(camel), `${camel} is known, so the test list is stale`);
        assert.match(error.message, /did you mean \w+\?|is not supported by Iris: \w/, `${key}: ${error.message}`);
      }
    }
  });

  test("image_data is a hint to imageData, not an IMAGE_TOKEN_MISMATCH; return_logprob to returnLogprob; stream says why", async () => {
    await rejectsWith(engine.generate({ prompt, image_data: ["x.png"] } as GenerateRequest), "INVALID_ARGUMENT", /image_data \(did you mean imageData\?\)/);
    await rejectsWith(engine.generate({ prompt, return_logprob: true } as GenerateRequest), "INVALID_ARGUMENT", /return_logprob \(did you mean returnLogprob\?\)/);
    await rejectsWith(engine.generate({ prompt, stream: true } as GenerateRequest), "INVALID_ARGUMENT", /generateStream/);
    await rejectsWith(engine.generate({ prompt, samplingParams: { seed: 1 } } as GenerateRequest), "INVALID_ARGUMENT", /did you mean samplingSeed\?/);
    // A request with the right names still runs on the same engine.
    const out = await engine.generate({ prompt, samplingParams: { maxNewTokens: 4, temperature: 0 } });
    assert.equal(out.outputIds.length > 0, true);
  });

  test("a bad field inside generateStream fails before any chunk", async () => {
    const stream = engine.generateStream({ prompt, loraPath: "x" } as GenerateRequest);
    await rejectsWith(stream.next(), "INVALID_ARGUMENT", /loraPath is not supported by Iris: Iris has no LoRA adapters/);
  });
});
