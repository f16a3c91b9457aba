/** base64 ↔ bytes without Node's Buffer (works in browsers and in vitest). */

type FromBase64 = (s: string) => Uint8Array;

/**
 * The browser's native decoder (`Uint8Array.fromBase64`, Chromium 140+, Firefox 133+, Safari 18.2+)
 * when there is one: faster than atob + a charCodeAt loop on the tens of MB of a 512-token
 * pretrained-model document, and no intermediate binary string.
 */
const nativeFromBase64: FromBase64 | null = (() => {
  const f = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;
  return typeof f === 'function' ? f.bind(Uint8Array) : null;
})();

export function base64ToBytes(b64: string, native = true): Uint8Array {
  if (native && nativeFromBase64) {
    try {
      return nativeFromBase64(b64);
    } catch {
      // whitespace or a missing padding the native decoder refuses: the lenient path below
    }
  }
  const bin = atob(b64.replace(/\s+/g, ''));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    s += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(s);
}
