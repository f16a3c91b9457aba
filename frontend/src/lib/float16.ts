/** IEEE 754 binary16 ↔ binary32: by hand (a table), or with the engine's Float16Array where it has one. */

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

let lut: Float32Array | null = null;
/**
 * 65 536-entry table: decoding a 6×12×128² tensor is one lookup per value. Built from the bits
 * (sign, exponent rebased by 127 − 15, mantissa shifted into place), not by `halfToFloat` per
 * entry: a saved file builds it in its first task, where code runs cold.
 */
function table(): Float32Array {
  if (!lut) {
    lut = new Float32Array(65536);
    const bits = new Uint32Array(lut.buffer);
    for (let h = 0; h < 65536; h++) {
      const sign = (h & 0x8000) << 16;
      const exp = (h >> 10) & 0x1f;
      const frac = h & 0x3ff;
      if (exp === 0x1f) bits[h] = (sign | 0x7f800000 | (frac << 13)) >>> 0; // ±Infinity, NaN
      else if (exp !== 0) bits[h] = (sign | ((exp + 112) << 23) | (frac << 13)) >>> 0;
      else lut[h] = (sign ? -frac : frac) * 2 ** -24; // ±0 and subnormals (exact in float32)
    }
  }
  return lut;
}

/** Does this CPU store a Uint16 little-endian (every usual one)? Then the bytes can be read as halves. */
const NATIVE_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Float16ArrayCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayLike<number>;
/** The engine's Float16Array (Chromium 135+, Firefox 129+), when it reads little-endian (every usual CPU). */
const NATIVE: Float16ArrayCtor | null = (() => {
  const F16 = (globalThis as { Float16Array?: Float16ArrayCtor }).Float16Array;
  return F16 && NATIVE_LE ? F16 : null;
})();

/**
 * Decode little-endian float16 bytes into a new Float32Array. Fewer values than the table has
 * entries go through the engine's Float16Array where it has one: building the table would cost
 * more than the decode. More go through the table, which Chromium's Float16Array → Float32Array
 * copy does not beat (bench/NOTES.md).
 * `native: false` forces the table (tests).
 */
export function decodeFloat16(bytes: Uint8Array, native = true): Float32Array {
  if (bytes.length % 2) throw new Error(`float16 data has an odd number of bytes (${bytes.length}).`);
  const n = bytes.length / 2;
  if (NATIVE && native && n < 65536) {
    const aligned = bytes.byteOffset % 2 ? bytes.slice() : bytes;
    return new Float32Array(new NATIVE(aligned.buffer, aligned.byteOffset, n) as unknown as ArrayLike<number>);
  }
  const out = new Float32Array(n);
  const t = table();
  if (NATIVE_LE) {
    const aligned = bytes.byteOffset % 2 ? bytes.slice() : bytes;
    const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = t[halves[i]!]!;
  } else for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = t[bytes[j]! | (bytes[j + 1]! << 8)]!;
  return out;
}

/** float32 → nearest float16 bit pattern (round half to even). Used by tests and the sample generator. */
export function floatToHalf(val: number): number {
  const f32 = new Float32Array([val]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
