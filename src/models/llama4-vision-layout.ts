/**
 * Host-side bookkeeping of Llama 4's vision model (model-facts B2): the row orders that turn the tiles' pixels
 * into patch vectors, place the class token last in each tile, drop it again and pixel-shuffle the patches, and
 * each token's 2-D rotary position. Everything depends only on the tile count and the config, so it is computed
 * on the host and each order is applied on the device with one `gatherRows`.
 */

export interface Llama4VisionGeometry {
  /** Patches per side of a tile (image_size / patch_size: 24). */
  readonly gridSide: number;
  readonly patchSize: number;
  readonly numChannels: number;
  /** 1 / pixel_shuffle_ratio (2): a shuffled token is a merge×merge block of patches. */
  readonly merge: number;
}

export interface Llama4VisionLayout {
  /**
   * Rows of the pixels viewed as [tiles * channels * side * gridSide, patchSize] (each row: patchSize pixels of one
   * image row inside one patch) that, read in this order, form [tiles * patches, channels * patchSize²] with the
   * columns of `nn.Unfold`: c * patchSize² + ky * patchSize + kx.
   */
  readonly unfoldRows: Int32Array;
  /**
   * Rows of [patch embeddings of all tiles; class embedding] that give each tile's tokens with the class token
   * appended last: [tiles * (patches + 1)].
   */
  readonly tokenOrder: Int32Array;
  /**
   * Per token, (column + 1, row + 1) of its patch ([tokens, 2], 1-based as the reference); the class token gets
   * (0, 0), i.e. no rotation, as the reference zeroes its frequencies.
   */
  readonly rotaryPositions: Int32Array;
  /** Cumulative token counts of the tiles: attention stays inside a tile. */
  readonly cuTileSeqlens: Int32Array;
  /**
   * Rows of the encoder output [tiles * (patches + 1), C] that drop the class token and pixel-shuffle: read in
   * this order and viewed as [tiles * patches / merge², merge² * C], output token (h2, w2) holds the patches
   * (merge*h2 + dh, merge*w2 + dw) with dh outer, dw inner: channel dh * merge * C + dw * C + c.
   */
  readonly shuffleRows: Int32Array;
  readonly tokensPerTile: number;
}

export function llama4VisionLayout(tiles: number, g: Llama4VisionGeometry): Llama4VisionLayout {
  const { gridSide: side, patchSize: p, numChannels: channels, merge } = g;
  const patches = side * side;
  const tokensPerTile = patches + 1;
  const pixelsPerSide = side * p;

  const unfoldRows = new Int32Array(tiles * patches * channels * p);
  let u = 0;
  for (let t = 0; t < tiles; t++) {
    for (let py = 0; py < side; py++) {
      for (let px = 0; px < side; px++) {
        for (let c = 0; c < channels; c++) {
          for (let ky = 0; ky < p; ky++) unfoldRows[u++] = ((t * channels + c) * pixelsPerSide + py * p + ky) * side + px;
        }
      }
    }
  }

  const tokenOrder = new Int32Array(tiles * tokensPerTile);
  const rotaryPositions = new Int32Array(tiles * tokensPerTile * 2);
  const cuTileSeqlens = new Int32Array(tiles + 1);
  for (let t = 0; t < tiles; t++) {
    for (let n = 0; n < patches; n++) {
      const token = t * tokensPerTile + n;
      tokenOrder[token] = t * patches + n;
      rotaryPositions[2 * token] = (n % side) + 1;
      rotaryPositions[2 * token + 1] = Math.floor(n / side) + 1;
    }
    // The class embedding is the single row after all tiles' patches; its rotary position stays (0, 0).
    tokenOrder[t * tokensPerTile + patches] = tiles * patches;
    cuTileSeqlens[t + 1] = (t + 1) * tokensPerTile;
  }

  const shuffleRows = new Int32Array(tiles * patches);
  const shuffledSide = side / merge;
  let s = 0;
  for (let t = 0; t < tiles; t++) {
    for (let h2 = 0; h2 < shuffledSide; h2++) {
      for (let w2 = 0; w2 < shuffledSide; w2++) {
        for (let dh = 0; dh < merge; dh++) {
          for (let dw = 0; dw < merge; dw++) {
            shuffleRows[s++] = t * tokensPerTile + (merge * h2 + dh) * side + merge * w2 + dw;
          }
        }
      }
    }
  }

  return { unfoldRows, tokenOrder, rotaryPositions, cuTileSeqlens, shuffleRows, tokensPerTile };
}
