"""The Hugging Face twin of bench/vlm-offline.ts (and, with --shared-picture, of bench/vlm-shared-picture.ts): the
same requests (bench/reference/vlm_workload.py gives the same pictures, questions and prompts) on transformers,
in batches of --batch-size (generate pads on the left), 128 new tokens each with end-of-sequence ignored, greedy.
Qwen2.5-VL-3B's shape with random bf16 weights on one GPU; the processor runs inside the timed region, as Iris's
preprocessing does. Hugging Face has no prefix cache: --shared-picture only changes the pictures to one.

    python3 bench/reference/vlm_offline_hf.py --model DIR [--requests 512] [--batch-size 128] [--shared-picture]
Prints one JSON object.
"""
import argparse
import json
import time

import torch
from PIL import Image
from transformers import AutoConfig, AutoProcessor, Qwen2_5_VLForConditionalGeneration

from vlm_workload import picture, prompt, question


def load_dummy(model_dir):
    """The model with random bf16 weights on the GPU (Iris's loadFormat "dummy"), and its processor."""
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(model_dir)
    with torch.device("cuda"):
        model = Qwen2_5_VLForConditionalGeneration._from_config(config, torch_dtype=torch.bfloat16)
    model.eval()
    processor = AutoProcessor.from_pretrained(model_dir)
    processor.tokenizer.padding_side = "left"
    return model, processor, config


def generate(model, processor, prompts, images, new_tokens):
    """One batch: processor, then greedy generation of exactly `new_tokens`; returns the tokens generated."""
    inputs = processor(text=prompts, images=images, padding=True, return_tensors="pt").to("cuda")
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
    return (out.shape[1] - inputs["input_ids"].shape[1]) * out.shape[0], int(inputs["attention_mask"].sum())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--requests", type=int, default=512)
    parser.add_argument("--output-tokens", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shared-picture", action="store_true")
    args = parser.parse_args()

    model, processor, config = load_dummy(args.model)
    prompts = [prompt(question(i)) for i in range(args.requests)]
    if args.shared_picture:
        shared = Image.fromarray(picture(args.seed, 0, args.image_size))
        images = [shared] * args.requests
    else:
        images = [Image.fromarray(picture(args.seed, i, args.image_size)) for i in range(args.requests)]
    warm = [Image.fromarray(picture(args.seed + 1000, i, args.image_size)) for i in range(2)]
    generate(model, processor, prompts[:2], warm, 4)

    torch.cuda.synchronize()
    start = time.perf_counter()
    generated = prompt_tokens = 0
    for i in range(0, args.requests, args.batch_size):
        g, p = generate(model, processor, prompts[i:i + args.batch_size], images[i:i + args.batch_size], args.output_tokens)
        generated += g
        prompt_tokens += p
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    print(json.dumps({
        "benchmark": "vlm-shared-picture-hf" if args.shared_picture else "vlm-offline-hf",
        "system": "transformers",
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0),
        "attention": getattr(config, "_attn_implementation", None),
        "workload": {"requests": args.requests, "outputTokens": args.output_tokens, "imageSize": args.image_size,
                     "batchSize": args.batch_size, "seed": args.seed, "sharedPicture": args.shared_picture},
        "results": {"seconds": seconds, "generatedTokens": generated, "promptTokens": prompt_tokens,
                    "outputTokensPerS": generated / seconds},
    }, indent=2))


if __name__ == "__main__":
    main()
