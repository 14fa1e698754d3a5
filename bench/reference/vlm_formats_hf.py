"""The Hugging Face twin of bench/vlm-formats.ts: time to first token (one greedy token) of one request with one
512x512 picture (bench/reference/vlm_workload.py's picture 0 and question 0) given as (1) the raw picture (processor
inside the clock), (2) its processor output (computed before, moved to the GPU inside the clock), (3) its
precomputed embedding: the vision tower's output computed before; inside the clock the tower is replaced by a
function returning that output (copied to the GPU), since transformers' generate takes no image embeddings as such.
Each request gets its own picture (one more pixel changed); median of --repeats after 3 warm-ups per format.

    python3 bench/reference/vlm_formats_hf.py --model DIR [--repeats 10]
Prints one JSON object.
"""
import argparse
import json
import statistics
import time

import torch
from PIL import Image

from vlm_offline_hf import load_dummy
from vlm_workload import picture, prompt, question


def moved(value, device):
    """`value` (a tensor, or tuples, lists and dict-like outputs of tensors) on `device`."""
    if torch.is_tensor(value):
        return value.to(device)
    if isinstance(value, dict):
        return type(value)(**{k: moved(v, device) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return type(value)(moved(v, device) for v in value)
    return value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--image-size", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    model, processor, config = load_dummy(args.model)
    core = getattr(model, "model", model)
    visual = core.visual if hasattr(core, "visual") else model.visual
    text = prompt(question(0))
    base = picture(args.seed, 0, args.image_size)

    def variant(k):
        pixels = base.copy().reshape(-1)
        pixels[:k + 1] ^= 1
        return Image.fromarray(pixels.reshape(base.shape))

    def first_token(inputs):
        with torch.inference_mode():
            model.generate(**inputs, max_new_tokens=1, do_sample=False)

    def timed(fn):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        return 1000 * (time.perf_counter() - start)

    times = {"raw": [], "processorOutput": [], "embedding": []}
    prompt_tokens = 0
    for r in range(3 + args.repeats):
        raw_image = variant(3 * r)
        processed = processor(text=[text], images=[variant(3 * r + 1)], return_tensors="pt")
        for_embedding = processor(text=[text], images=[variant(3 * r + 2)], return_tensors="pt")
        with torch.inference_mode():
            features = moved(visual(for_embedding["pixel_values"].to("cuda", torch.bfloat16),
                                    grid_thw=for_embedding["image_grid_thw"].to("cuda")), "cpu")
        trigger = for_embedding["pixel_values"].to("cuda")

        def raw():
            first_token(processor(text=[text], images=[raw_image], return_tensors="pt").to("cuda"))

        def from_processor():
            first_token(processed.to("cuda"))

        def from_embedding():
            visual.forward = lambda *a, **k: moved(features, "cuda")
            try:
                inputs = {k: v.to("cuda") for k, v in for_embedding.items() if k != "pixel_values"}
                first_token({**inputs, "pixel_values": trigger})
            finally:
                del visual.forward

        ms = {"raw": timed(raw), "processorOutput": timed(from_processor), "embedding": timed(from_embedding)}
        prompt_tokens = int(processed["input_ids"].shape[1])
        if r >= 3:
            for k, v in ms.items():
                times[k].append(v)

    medians = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({
        "benchmark": "vlm-formats-hf",
        "system": "transformers",
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0),
        "attention": getattr(config, "_attn_implementation", None),
        "workload": {"imageSize": args.image_size, "promptTokens": prompt_tokens, "repeats": args.repeats},
        "ttftMs": {k: {"median": medians[k], "all": [round(t, 2) for t in times[k]]} for k in times},
        "embeddingVsRaw": 1 - medians["embedding"] / medians["raw"],
        "processorOutputVsRaw": 1 - medians["processorOutput"] / medians["raw"],
    }, indent=2))


if __name__ == "__main__":
    main()
