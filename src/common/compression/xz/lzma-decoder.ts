/**
 * LZMA decoding (Igor Pavlov's LZMA specification): a range decoder driving adaptive binary
 * probabilities that choose between literals, matches and repeated matches. The caller's output
 * array is the dictionary (everything decoded since the last dictionary reset), so matches copy
 * inside it and nothing is buffered twice. Decoding stops at a caller-given output limit, at an end
 * marker, or resumes a match the previous call had to cut at its limit.
 *
 * Speed: `decode` keeps the range coder, the state and the rep distances in locals and spells the
 * bit decoding out at each site (a helper call could not update the caller's locals); all
 * probabilities live in one Uint16Array at fixed offsets. Arithmetic is uint32 via `>>> 0`.
 */
import { FormatError } from '../../errors.js';

const TOP = 0x1000000;
const PROB_INIT = 1024;

// Offsets into the probability array.
const IS_MATCH = 0;                       // [state << 4 | posState]
const IS_REP = IS_MATCH + 12 * 16;        // [state]
const IS_REP_G0 = IS_REP + 12;
const IS_REP_G1 = IS_REP_G0 + 12;
const IS_REP_G2 = IS_REP_G1 + 12;
const IS_REP0_LONG = IS_REP_G2 + 12;      // [state << 4 | posState]
const POS_SLOT = IS_REP0_LONG + 12 * 16;  // 4 trees of 6 bits, by length state
const SPEC_POS = POS_SLOT + 4 * 64;       // reverse trees for slots 4..13
const ALIGN = SPEC_POS + 115;             // 4-bit reverse tree for the low bits of far distances
// A length coder: two choice bits, a 3-bit tree per posState for 2..9 and 10..17, an 8-bit tree above.
const LEN_CHOICE = 0, LEN_CHOICE2 = 1, LEN_LOW = 2, LEN_MID = LEN_LOW + 16 * 8, LEN_HIGH = LEN_MID + 16 * 8;
const LEN_CODER_SIZE = LEN_HIGH + 256;
const MATCH_LEN = ALIGN + 16;
const REP_LEN = MATCH_LEN + LEN_CODER_SIZE;
const LITERAL = REP_LEN + LEN_CODER_SIZE; // 0x300 probabilities per literal context

export class LzmaDecoder {
  private probs = new Uint16Array(LITERAL + (0x300 << 4));
  lc = 0; lp = 0; pb = 0;
  private state = 0;
  /**
   * Values that span the full uint32 range live in a typed array between calls: as object fields
   * they would change representation (small integer to double) and deoptimise `decode`.
   * [0] range, [1] code, [2..5] rep0..rep3, [6] dictionary size.
   */
  private readonly regs = new Uint32Array(7);
  /** Bytes of a match still to copy because the previous call reached its output limit. */
  pendingLen = 0;
  sawEndMarker = false;
  /** Input position of the range decoder (may pass the input's end on truncated data; callers check). */
  inPos = 0;

  constructor(readonly name: string) {}

  /** Distances at or beyond this are invalid (the encoder's dictionary size, at most 2^32 - 1). */
  get dictSize(): number { return this.regs[6]!; }
  set dictSize(bytes: number) { this.regs[6] = bytes; }

  /** Reads the lc/lp/pb properties byte and resets the state. LZMA2 allows lc + lp <= 4. */
  setProperties(props: number, maxLcPlusLp: number): void {
    if (props >= 9 * 5 * 5) throw new FormatError(this.name, `LZMA properties byte 0x${props.toString(16)} is invalid (must be below 0xe1)`);
    const lc = props % 9, rest = Math.floor(props / 9), lp = rest % 5, pb = Math.floor(rest / 5);
    if (lc + lp > maxLcPlusLp) throw new FormatError(this.name, `LZMA properties lc=${lc} lp=${lp}: lc + lp must not exceed ${maxLcPlusLp}`);
    this.lc = lc; this.lp = lp; this.pb = pb;
    const need = LITERAL + (0x300 << (lc + lp));
    if (this.probs.length < need) this.probs = new Uint16Array(need);
    this.resetState();
  }

  /** Probabilities, state and rep distances back to their initial values (dictionary kept). */
  resetState(): void {
    this.probs.fill(PROB_INIT);
    this.state = 0;
    this.regs.fill(0, 2, 6);
    this.pendingLen = 0;
    this.sawEndMarker = false;
  }

  /** Starts the range decoder on the 5 bytes at `pos` (the first is always zero). */
  startRange(input: Uint8Array, pos: number): void {
    if (pos + 5 > input.length) throw new FormatError(this.name, `LZMA data truncated at offset ${pos}`);
    if (input[pos] !== 0) throw new FormatError(this.name, `LZMA range coder at offset ${pos} does not start with a zero byte`);
    this.regs[0] = 0xffffffff;
    this.regs[1] = (input[pos + 1]! << 24) | (input[pos + 2]! << 16) | (input[pos + 3]! << 8) | input[pos + 4]!;
    this.inPos = pos + 5;
  }

  /** After the last symbol: the final normalisation, then whether the coder ended cleanly (code 0). */
  finishRange(input: Uint8Array): boolean {
    const regs = this.regs;
    if (regs[0]! < TOP) {
      regs[0] = regs[0]! << 8;
      regs[1] = (regs[1]! << 8) | input[this.inPos++]!;
    }
    return regs[1] === 0;
  }

  /**
   * Decodes into dict[pos..limit) (dict[0..pos) is the dictionary) and returns the new position.
   * It is below `limit` only if an end marker was decoded (sawEndMarker); a match cut at `limit`
   * leaves `pendingLen` for the next call.
   */
  decode(input: Uint8Array, dict: Uint8Array, pos: number, limit: number): number {
    const probs = this.probs, dictSize = this.regs[6]!;
    const lc = this.lc, litShift = 8 - lc, lpMask = (1 << this.lp) - 1, pbMask = (1 << this.pb) - 1;
    const regs = this.regs;
    let range = regs[0]!, code = regs[1]!, ip = this.inPos;
    let state = this.state, rep0 = regs[2]!, rep1 = regs[3]!, rep2 = regs[4]!, rep3 = regs[5]!;
    let len = this.pendingLen;
    let i = 0, p = 0, bound = 0, sym = 0;

    if (len > 0) {
      const n = Math.min(len, limit - pos);
      for (let src = pos - rep0 - 1, end = pos + n; pos < end;) dict[pos++] = dict[src++]!;
      len -= n;
    }
    while (pos < limit) {
      const posState = pos & pbMask;
      i = IS_MATCH + (state << 4) + posState;
      if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
      p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
      if (code < bound) {
        range = bound; probs[i] = p + ((2048 - p) >>> 5);
        // Literal: an 8-bit tree chosen by position and the previous byte; after a match, the byte
        // at rep0 steers the tree for as long as the decoded bits agree with it.
        const prev = pos > 0 ? dict[pos - 1]! : 0;
        const base = LITERAL + 0x300 * (((pos & lpMask) << lc) + (prev >>> litShift));
        sym = 1;
        if (state >= 7) {
          let match = dict[pos - rep0 - 1]!;
          do {
            const mbit = (match >>> 7) & 1;
            match <<= 1;
            i = base + ((1 + mbit) << 8) + sym;
            if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
            p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
            if (code < bound) {
              range = bound; probs[i] = p + ((2048 - p) >>> 5); sym <<= 1;
              if (mbit !== 0) break;
            } else {
              range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5); sym = (sym << 1) | 1;
              if (mbit === 0) break;
            }
          } while (sym < 0x100);
        }
        while (sym < 0x100) {
          i = base + sym;
          if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
          p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
          if (code < bound) { range = bound; probs[i] = p + ((2048 - p) >>> 5); sym <<= 1; }
          else { range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5); sym = (sym << 1) | 1; }
        }
        dict[pos++] = sym;
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5);

      let lenCoder = MATCH_LEN;
      i = IS_REP + state;
      if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
      p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
      if (code < bound) {
        range = bound; probs[i] = p + ((2048 - p) >>> 5);
        state = state < 7 ? 7 : 10;
      } else {
        range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5);
        // Rep distances were checked when they were first used, so only an empty dictionary fails here.
        if (rep0 >= pos) throw new FormatError(this.name, `LZMA repeated match at output position ${pos} with an empty dictionary`);
        lenCoder = REP_LEN;
        i = IS_REP_G0 + state;
        if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
        p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
        if (code < bound) {
          range = bound; probs[i] = p + ((2048 - p) >>> 5);
          i = IS_REP0_LONG + (state << 4) + posState;
          if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
          p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
          if (code < bound) {
            // Short rep: one byte from rep0.
            range = bound; probs[i] = p + ((2048 - p) >>> 5);
            state = state < 7 ? 9 : 11;
            dict[pos] = dict[pos - rep0 - 1]!;
            pos++;
            continue;
          }
          range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5);
        } else {
          range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5);
          let dist = 0;
          i = IS_REP_G1 + state;
          if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
          p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
          if (code < bound) {
            range = bound; probs[i] = p + ((2048 - p) >>> 5);
            dist = rep1;
          } else {
            range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5);
            i = IS_REP_G2 + state;
            if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
            p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
            if (code < bound) {
              range = bound; probs[i] = p + ((2048 - p) >>> 5);
              dist = rep2;
            } else {
              range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5);
              dist = rep3; rep3 = rep2;
            }
            rep2 = rep1;
          }
          rep1 = rep0; rep0 = dist;
        }
        state = state < 7 ? 8 : 11;
      }

      // Length (0-based here; matches are 2..273 bytes).
      let tree = 0, treeEnd = 8, add = 0;
      i = lenCoder + LEN_CHOICE;
      if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
      p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
      if (code < bound) {
        range = bound; probs[i] = p + ((2048 - p) >>> 5);
        tree = lenCoder + LEN_LOW + (posState << 3);
      } else {
        range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5);
        i = lenCoder + LEN_CHOICE2;
        if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
        p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
        if (code < bound) {
          range = bound; probs[i] = p + ((2048 - p) >>> 5);
          tree = lenCoder + LEN_MID + (posState << 3); add = 8;
        } else {
          range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5);
          tree = lenCoder + LEN_HIGH; treeEnd = 256; add = 16;
        }
      }
      sym = 1;
      do {
        i = tree + sym;
        if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
        p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
        if (code < bound) { range = bound; probs[i] = p + ((2048 - p) >>> 5); sym <<= 1; }
        else { range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5); sym = (sym << 1) | 1; }
      } while (sym < treeEnd);
      len = sym - treeEnd + add;

      if (lenCoder === MATCH_LEN) {
        // Distance: a 6-bit slot (by length state), then reverse-tree, direct and aligned bits.
        tree = POS_SLOT + ((len < 3 ? len : 3) << 6);
        sym = 1;
        do {
          i = tree + sym;
          if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
          p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
          if (code < bound) { range = bound; probs[i] = p + ((2048 - p) >>> 5); sym <<= 1; }
          else { range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5); sym = (sym << 1) | 1; }
        } while (sym < 64);
        const slot = sym - 64;
        let dist = slot;
        if (slot >= 4) {
          const bits = (slot >>> 1) - 1;
          dist = ((2 | (slot & 1)) << bits) >>> 0;
          if (slot < 14) {
            tree = SPEC_POS + dist - slot;
            for (let k = 0, m = 1; k < bits; k++) {
              i = tree + m;
              if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
              p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
              if (code < bound) { range = bound; probs[i] = p + ((2048 - p) >>> 5); m <<= 1; }
              else { range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5); m = (m << 1) | 1; dist += 1 << k; }
            }
          } else {
            let direct = 0;
            for (let k = bits - 4; k > 0; k--) {
              if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
              range >>>= 1;
              if (code >= range) { code = (code - range) >>> 0; direct = (direct << 1) | 1; } else direct <<= 1;
            }
            dist = (dist + (direct << 4)) >>> 0;
            for (let k = 0, m = 1; k < 4; k++) {
              i = ALIGN + m;
              if (range < TOP) { range = (range << 8) >>> 0; code = ((code << 8) | input[ip++]!) >>> 0; }
              p = probs[i]!; bound = Math.imul(range >>> 11, p) >>> 0;
              if (code < bound) { range = bound; probs[i] = p + ((2048 - p) >>> 5); m <<= 1; }
              else { range = (range - bound) >>> 0; code = (code - bound) >>> 0; probs[i] = p - (p >>> 5); m = (m << 1) | 1; dist += 1 << k; }
            }
          }
        }
        if (dist >= pos || dist >= dictSize) {
          if (dist === 0xffffffff) { this.sawEndMarker = true; len = 0; break; }
          throw new FormatError(this.name, `LZMA match at output position ${pos} has distance ${dist + 1}, beyond the ${Math.min(pos, dictSize)} bytes of dictionary`);
        }
        rep3 = rep2; rep2 = rep1; rep1 = rep0; rep0 = dist;
      }

      len += 2;
      const n = len < limit - pos ? len : limit - pos;
      let src = pos - rep0 - 1;
      const end = pos + n;
      if (n < 24) {
        while (pos < end) dict[pos++] = dict[src++]!;
      } else if (rep0 === 0) {
        dict.fill(dict[src]!, pos, end);
        pos = end;
      } else {
        // Long copies go through memmove; an overlapping one repeats its period, so each copy can
        // take everything from `src` up to the current position, doubling the span every time.
        while (pos < end) {
          const span = Math.min(end - pos, pos - src);
          dict.copyWithin(pos, src, src + span);
          pos += span;
        }
      }
      len -= n;
    }
    regs[0] = range; regs[1] = code; regs[2] = rep0; regs[3] = rep1; regs[4] = rep2; regs[5] = rep3;
    this.inPos = ip; this.state = state;
    this.pendingLen = len;
    return pos;
  }
}
