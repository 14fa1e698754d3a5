"""The workload of issue 10's benchmarks for the Hugging Face twins, byte for byte that of bench/vlm-workload.ts:
the seeded pictures (an integer hash of seed, index, row, column and channel, in wrapping uint32 arithmetic as
Math.imul computes it), the questions and the qwen2-vl prompt around one picture. Needs numpy only, so the
equality with the TypeScript side can be checked without torch (tests/unit/bench/vlm-workload.test.ts).
"""
import numpy as np

MASK = 0xFFFFFFFF


def picture(seed, index, size):
    """[size, size, 3] uint8 pixels of picture `index` of the run seeded `seed`."""
    base = ((seed * 0x9E3779B1) & MASK) ^ (((index + 1) * 0x85EBCA6B) & MASK)
    u32 = np.uint32
    y = np.arange(size, dtype=np.uint64).reshape(size, 1, 1)
    x = np.arange(size, dtype=np.uint64).reshape(1, size, 1)
    c = np.arange(3, dtype=np.uint64).reshape(1, 1, 3)
    row = (u32(base) ^ ((y * 0xC2B2AE35) & MASK).astype(u32))
    cell = row ^ ((x * 0x27D4EB2F) & MASK).astype(u32)
    h = ((cell.astype(np.uint64) + ((c * 0x165667B1) & MASK)) & MASK)
    h = ((h ^ (h >> 15)) * 0x2C1B3C6D) & MASK
    h = h ^ (h >> 12)
    return (h & 255).astype(np.uint8)


SUBJECTS = ["the colors", "the texture", "the brightest region", "the darkest corner", "any shapes", "the mood",
            "the top half", "the bottom half", "the left side", "the right side", "the center", "the noise"]
ASKS = ["Describe", "What do you notice about", "Explain", "Summarize", "Tell me about", "Comment on",
        "What stands out in", "How would you characterize"]


def question(index):
    subject = SUBJECTS[index % len(SUBJECTS)]
    ask = ASKS[(index // len(SUBJECTS)) % len(ASKS)]
    variant = index // (len(SUBJECTS) * len(ASKS))
    return f"{ask} {subject} of this picture" + (f" (question {variant})" if variant > 0 else "") + "."


def prompt(text):
    """SGLang's qwen2-vl conversation around one picture, as Iris renders it (the Hugging Face chat template gives
    the same string for a user message of an image and then the text)."""
    return ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
            f"<|vision_start|><|image_pad|><|vision_end|>{text}<|im_end|>\n<|im_start|>assistant\n")


if __name__ == "__main__":
    # For the equality test: a digest of a few pictures and the prompts.
    import hashlib
    import json
    import sys
    seed, count, size = (int(a) for a in sys.argv[1:4])
    print(json.dumps({
        "pictures": [hashlib.sha256(picture(seed, i, size).tobytes()).hexdigest() for i in range(count)],
        "prompts": [prompt(question(i)) for i in range(count)],
    }))
