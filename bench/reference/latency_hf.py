"""The Hugging Face twin of bench/latency.ts: the same workload on transformers, in the same device call, so each
ratio is measured side by side.

Workload (issue 9): Qwen2.5-VL-3B's shape with random bf16 weights on one GPU, one 512x512 photograph.
- Time to first token: processor + generate(max_new_tokens=1) from the raw image and prompt, median of 10 after
  warm-up (preprocessing included, as for Iris).
- Decode at batch 1: after the prompt with the image (338 tokens), tokens/s over `--decode-tokens` new tokens
  (end-of-sequence ignored), the first token's time subtracted; also without the image.

    python3 bench/reference/latency_hf.py --model DIR --image PHOTO.png [--decode-tokens 64]
Prints one JSON object.
"""
import argparse
import json
import statistics
import time

import torch
from PIL import Image
from transformers import AutoConfig, AutoProcessor, Qwen2_5_VLForConditionalGeneration


def timed(fn):
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return time.perf_counter() - start, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--decode-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(args.model)
    with torch.device("cuda"):
        model = Qwen2_5_VLForConditionalGeneration._from_config(config, torch_dtype=torch.bfloat16)
    model.eval()
    processor = AutoProcessor.from_pretrained(args.model)
    image = Image.open(args.image).convert("RGB")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe this picture in detail."}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    text_prompt = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "text", "text": "Describe a picture of an astronaut in detail."}]}],
        add_generation_prompt=True)

    def generate(new_tokens, with_image=True):
        if with_image:
            inputs = processor(text=[prompt], images=[image], return_tensors="pt").to("cuda")
        else:
            inputs = processor(text=[text_prompt], return_tensors="pt").to("cuda")
        with torch.inference_mode():
            return model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False), inputs

    for _ in range(3):
        generate(1)
    ttft = [timed(lambda: generate(1))[0] for _ in range(args.repeats)]
    prompt_tokens = int(generate(1)[1]["input_ids"].shape[1])

    def decode_rate(with_image):
        first, _ = timed(lambda: generate(1, with_image))
        total, _ = timed(lambda: generate(args.decode_tokens, with_image))
        return (args.decode_tokens - 1) / (total - first)

    generate(4, False)
    result = {
        "system": "transformers",
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0),
        "promptTokens": prompt_tokens,
        "ttftMs": {"median": 1000 * statistics.median(ttft), "all": [round(1000 * t, 2) for t in ttft]},
        "decodeTokensPerS": {"withImage": decode_rate(True), "textOnly": decode_rate(False), "newTokens": args.decode_tokens},
        "attention": config._attn_implementation if hasattr(config, "_attn_implementation") else None,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
