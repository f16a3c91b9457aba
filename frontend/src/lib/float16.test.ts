import { describe, expect, it } from 'vitest';
import { decodeFloat16, floatToHalf, halfToFloat } from './float16';
import { base64ToBytes, bytesToBase64 } from './base64';

describe('float16', () => {
  it('decodes known bit patterns', () => {
    expect(halfToFloat(0x0000)).toBe(0);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3800)).toBe(0.5);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.33325195, 8);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0400)).toBe(2 ** -14); // smallest normal
    expect(halfToFloat(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('decodes little-endian bytes through the table', () => {
    const bytes = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x55, 0x35, 0x01, 0x00]);
    const out = decodeFloat16(bytes);
    expect(out).toBeInstanceOf(Float32Array);
    expect(Array.from(out.slice(0, 2))).toEqual([1, -2]);
    expect(out[2]).toBeCloseTo(0.33325195, 6);
    expect(out[3]).toBeCloseTo(2 ** -24, 12);
  });

  it('the table gives every bit pattern the value halfToFloat gives it', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const bytes = new Uint8Array(all.buffer);
    for (const odd of [false, true]) {
      // an odd byte offset (a view into a larger buffer) takes the copy-then-read path
      const input = odd ? new Uint8Array([0, ...bytes]).subarray(1) : bytes;
      const out = decodeFloat16(input, false);
      const wrong: number[] = [];
      for (let h = 0; h < 65536; h++) if (!Object.is(out[h], Math.fround(halfToFloat(h)))) wrong.push(h);
      expect(wrong).toEqual([]);
    }
  });

  it('rejects odd byte counts', () => {
    expect(() => decodeFloat16(new Uint8Array(3))).toThrow(/odd/);
  });

  it('encodes to the nearest half and round-trips', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
    for (let i = 0; i <= 1000; i++) {
      const v = i / 1000;
      expect(Math.abs(halfToFloat(floatToHalf(v)) - v)).toBeLessThanOrEqual(2 ** -11 * Math.max(v, 2 ** -14));
    }
  });

  it('base64 round-trips bytes', () => {
    const b = new Uint8Array([0, 1, 2, 250, 255, 128]);
    expect(Array.from(base64ToBytes(bytesToBase64(b)))).toEqual(Array.from(b));
    expect(Array.from(base64ToBytes('ADw='))).toEqual([0x00, 0x3c]);
  });
});
