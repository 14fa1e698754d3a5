"""SGLang's offline Engine on the workload of bench/offline-throughput.ts (same LCG, same seeds), for comparison.

Run where SGLang is installed (it is not on the project's machines):
    python bench/reference/sglang_offline.py --model DIR [--load-format dummy] [--requests 256] [--tp 1]
Prints one JSON object like the TypeScript benchmark.
"""
import argparse
import json
import time


def lcg(seed):
    state = seed & 0xFFFFFFFF
    while True:
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        yield state / 2**32


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--load-format", default="auto")
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--max-input", type=int, default=1024)
    parser.add_argument("--max-output", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tp", type=int, default=1)
    args = parser.parse_args()

    import sglang as sgl

    rand = lcg(args.seed)

    def randint(lo, hi):
        return lo + int(next(rand) * (hi - lo + 1))

    llm = sgl.Engine(model_path=args.model, load_format=args.load_format, tp_size=args.tp, random_seed=0)
    vocab = min(llm.get_server_info().get("vocab_size", 10_000) or 10_000, 10_000)
    prompts = [[randint(0, vocab - 1) for _ in range(randint(100, args.max_input))] for _ in range(args.requests)]
    outputs = [randint(100, args.max_output) for _ in range(args.requests)]
    params = [{"max_new_tokens": n, "ignore_eos": True, "temperature": 0} for n in outputs]
    start = time.perf_counter()
    results = llm.generate(input_ids=prompts, sampling_params=params)
    seconds = time.perf_counter() - start
    llm.shutdown()
    generated = sum(r["meta_info"]["completion_tokens"] for r in results)
    prompt_tokens = sum(r["meta_info"]["prompt_tokens"] for r in results)
    print(json.dumps({
        "benchmark": "sglang-offline-throughput",
        "workload": {"requests": args.requests, "maxInput": args.max_input, "maxOutput": args.max_output, "seed": args.seed},
        "results": {"seconds": seconds, "promptTokens": prompt_tokens, "generatedTokens": generated,
                    "outputTokensPerSecond": generated / seconds, "totalTokensPerSecond": (generated + prompt_tokens) / seconds},
    }, indent=2))


if __name__ == "__main__":
    main()
