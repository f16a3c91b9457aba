/** uint8 → (value * scale)² (square-root companded, `compand: "sqrt"`) or value * scale (older
 *  linear documents), through a 256-entry table. */
export function decodeUint8(bytes: Uint8Array, scale: number, compand: string | null = null): Float32Array {
  const lut = new Float32Array(256);
  for (let i = 0; i < 256; i++) lut[i] = compand === 'sqrt' ? (i * scale) ** 2 : i * scale;
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = lut[bytes[i]!]!;
  return out;
}
