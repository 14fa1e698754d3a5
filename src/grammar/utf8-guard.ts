/**
 * Keeps constrained outputs valid UTF-8 where XGrammar 0.1.27 is lenient. Its matcher decodes a byte-level token's
 * bytes permissively: bytes that never occur in UTF-8 (0xC0, 0xC1, 0xF5-0xFF) and overlong or out-of-range
 * sequences (0xE0 0x80-0x9F, 0xF0 0x80-0x8F, 0xF4 0x90-0xBF, surrogates 0xED 0xA0-0xBF) pass as characters inside
 * JSON strings and character classes, and the output then decodes to U+FFFD. A token that holds such bytes is
 * left out of the grammar's vocabulary; after a token ending in one of those four lead bytes, the next token must
 * start with an allowed second byte (an extra mask on the grammar's own).
 */

/** The byte each character of a byte-level (GPT-2) token stands for. */
function byteLevelTable(): Map<number, number> {
  const table = new Map<number, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    table.set(printable ? b : 256 + extra++, b);
  }
  return table;
}

/** The allowed second bytes after the leads whose range is narrower than 0x80-0xBF. */
const SECOND_BYTE: ReadonlyMap<number, readonly [number, number]> = new Map([
  [0xe0, [0xa0, 0xbf]], [0xed, [0x80, 0x9f]], [0xf0, [0x90, 0xbf]], [0xf4, [0x80, 0x8f]],
] as const);

function validBytes(bytes: readonly number[]): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0xc0 || b === 0xc1 || b >= 0xf5) return false;
    const range = SECOND_BYTE.get(b);
    if (range && i + 1 < bytes.length && (bytes[i + 1] < range[0] || bytes[i + 1] > range[1])) return false;
  }
  return true;
}

export class Utf8Guard {
  /** The vocabulary for XGrammar: tokens with invalid bytes replaced by "" (never allowed). */
  readonly vocabulary: string[];
  /** Each token's last byte (-1 for special tokens and empty ones). */
  private readonly lastByte: Int16Array;
  /** After a token ending in a narrow lead byte: the tokens whose first byte may follow it. */
  private readonly follow = new Map<number, Int32Array>();

  constructor(tokens: readonly string[], isSpecial: (id: number) => boolean) {
    const table = byteLevelTable();
    const V = tokens.length;
    const words = Math.ceil(V / 32);
    for (const lead of SECOND_BYTE.keys()) this.follow.set(lead, new Int32Array(words));
    this.lastByte = new Int16Array(V).fill(-1);
    this.vocabulary = tokens.map((token, id) => {
      if (isSpecial(id) || token.length === 0) return token;
      const bytes = Array.from(token, (ch) => table.get(ch.codePointAt(0)!) ?? -1);
      // Not a byte-level token (a character outside the table): left as it is.
      if (bytes.includes(-1)) return token;
      if (!validBytes(bytes)) return "";
      this.lastByte[id] = bytes[bytes.length - 1];
      for (const [lead, [lo, hi]] of SECOND_BYTE) if (bytes[0] >= lo && bytes[0] <= hi) this.follow.get(lead)![id >> 5] |= 1 << (id & 31);
      return token;
    });
  }

  /** Narrows `mask` (in place) to the tokens that may follow `previous` in valid UTF-8. */
  apply(mask: Int32Array, previous: number): void {
    const follow = this.follow.get(this.lastByte[previous] ?? -1);
    if (follow === undefined) return;
    for (let w = 0; w < mask.length; w++) mask[w] &= follow[w];
  }
}
