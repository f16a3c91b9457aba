/** base64 ↔ bytes without Node's Buffer (works in browsers and in vitest). */

/** Native decoder (Chromium 140+, Firefox 133+, Safari 18.2+): no JS loop to warm up. */
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;

export function base64ToBytes(b64: string): Uint8Array {
  if (nativeFromBase64) {
    try {
      return nativeFromBase64.call(Uint8Array, b64); // skips ASCII whitespace, like the fallback
    } catch {
      // invalid input: the fallback's atob throws the usual error
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
