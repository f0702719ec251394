/**
 * The x86 branch converter (XZ filter 0x04, "BCJ"): the encoder rewrote the 32-bit displacement
 * after CALL (E8) and JMP (E9) opcodes into an absolute address so that repeated calls to one
 * target compress alike; decoding subtracts the position again. Whether a given E8/E9 byte was
 * treated as an opcode depends on the E8/E9 bytes seen in the three bytes before it and on whether
 * their would-be displacements looked like near addresses (top byte 0x00 or 0xFF); the decoder
 * must replay exactly the encoder's decisions, which is what the `recent` bit set tracks.
 *
 * Works in place over one whole block (each block restarts the filter at `startOffset`); the last
 * four bytes cannot start an instruction with a full displacement and are left as they are.
 */

const isNearTop = (b: number): boolean => b === 0x00 || b === 0xff;

export function decodeX86(data: Uint8Array, startOffset: number): void {
  const n = data.length;
  // Bits 1-3: an E8/E9 left unconverted 1, 2 or 3 bytes back; bits 5-7: the same ones whose
  // displacement's top byte was 0x00/0xFF. Bit 0 / bit 4 receive the latest unconverted one and
  // move up by one per byte of distance when the next E8/E9 is found.
  let recent = 0;
  let lastOpcode = -5;
  const last = n - 5;
  // The opcodes are under 1% of x86 code: finding them with indexOf (native) beats a byte loop.
  // Conversions rewrite only bytes the scan then skips, so cached positions stay valid.
  let e8 = data.indexOf(0xe8), e9 = data.indexOf(0xe9);
  let i = 0;
  for (;;) {
    if (e8 >= 0 && e8 < i) e8 = data.indexOf(0xe8, i);
    if (e9 >= 0 && e9 < i) e9 = data.indexOf(0xe9, i);
    i = e8 < 0 ? e9 : e9 < 0 ? e8 : e8 < e9 ? e8 : e9;
    if (i < 0 || i > last) break;
    const gap = i - lastOpcode;
    lastOpcode = i;
    if (gap > 5) recent = 0;
    else for (let k = 0; k < gap; k++) recent = (recent & 0x77) << 1;

    const top = data[i + 4]!;
    const behind = recent >>> 1;
    const near = behind & 7;
    // Converted only when at most one of the three previous bytes was an unconverted E8/E9 and
    // none of those had a near-address top byte.
    if (isNearTop(top) && (near & (near - 1)) === 0 && behind < 0x10) {
      let value = (data[i + 1]! | (data[i + 2]! << 8) | (data[i + 3]! << 16) | (top << 24)) >>> 0;
      const position = (startOffset + i + 5) >>> 0;
      let target = (value - position) >>> 0;
      // An unconverted opcode d bytes back overlaps this displacement at byte 3 - d; if the
      // converted value has a near-address byte there, the encoder had converted it once more.
      // The second round's target has that byte equal to the complement of the stored one, which
      // the `recent` test above proved is not near, so two rounds always suffice.
      if (near !== 0) {
        const d = 32 - Math.clz32(near);
        const shift = 24 - 8 * d, flip = 2 ** (32 - 8 * d) - 1;
        for (let round = 0; round < 2 && isNearTop((target >>> shift) & 0xff); round++) {
          value = (target ^ flip) >>> 0;
          target = (value - position) >>> 0;
        }
      }
      data[i + 1] = target;
      data[i + 2] = target >>> 8;
      data[i + 3] = target >>> 16;
      data[i + 4] = (target & 0x1000000) !== 0 ? 0xff : 0x00;
      i += 5;
      recent = 0;
    } else {
      i++;
      recent |= isNearTop(top) ? 0x11 : 0x01;
    }
  }
}
