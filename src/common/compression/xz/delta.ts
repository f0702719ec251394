/**
 * The delta filter (XZ filter 0x03): each byte was stored as its difference from the byte
 * `distance` positions earlier (1..256; bytes before the block count as zero). Decoding adds back
 * in place over one whole block.
 */
export function decodeDelta(data: Uint8Array, distance: number): void {
  for (let i = distance; i < data.length; i++) data[i] = data[i]! + data[i - distance]!;
}
