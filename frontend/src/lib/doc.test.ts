import { describe, expect, it } from 'vitest';
import { bytesToBase64 } from './base64';
import { availableKinds, decodeDocument, headMatrix, isMasked, keySide, querySide, toJsonDocument, weightAt } from './doc';
import { DocumentError } from './documentError';
import { floatToHalf } from './float16';

function nested(L: number, H: number, Q: number, K: number, f: (l: number, h: number, q: number, k: number) => number) {
  return Array.from({ length: L }, (_, l) =>
    Array.from({ length: H }, (_, h) => Array.from({ length: Q }, (_, q) => Array.from({ length: K }, (_, k) => f(l, h, q, k)))),
  );
}

const src = ['h', 'i', '<eos>'];
const tgt = ['<bos>', 'h', 'i'];
const val = (l: number, h: number, q: number, k: number) => (l * 1000 + h * 100 + q * 10 + k) / 10000;

function encDecDoc() {
  return {
    schema_version: 1,
    checkpoint: 'copy/ckpt_epoch3.pt',
    model: { task: 'copy', epoch: 3, n_layers: 2, n_heads: 2, d_model: 8 },
    input: 'hi',
    output: 'hi',
    expected: 'hi',
    tokens: { src, tgt },
    attentions: {
      encoder_self: nested(2, 2, 3, 3, val),
      decoder_self: nested(2, 2, 3, 3, (l, h, q, k) => (k > q ? 0 : val(l, h, q, k))),
      cross: nested(2, 2, 3, 3, val),
    },
    warnings: [],
  };
}

function compact(dtype: 'float16' | 'uint8', L: number, H: number, Q: number, K: number, f: typeof val) {
  const n = L * H * Q * K;
  const bytes = new Uint8Array(dtype === 'float16' ? n * 2 : n);
  let i = 0;
  for (let l = 0; l < L; l++)
    for (let h = 0; h < H; h++)
      for (let q = 0; q < Q; q++)
        for (let k = 0; k < K; k++, i++) {
          const v = f(l, h, q, k);
          if (dtype === 'float16') {
            const b = floatToHalf(v);
            bytes[2 * i] = b & 0xff;
            bytes[2 * i + 1] = b >> 8;
          } else bytes[i] = Math.round(v * 255);
        }
  return { dtype, shape: [L, H, Q, K], ...(dtype === 'uint8' ? { scale: 1 / 255 } : {}), data: bytesToBase64(bytes) };
}

describe('decodeDocument', () => {
  it('decodes nested JSON into one Float32Array per kind', () => {
    const d = decodeDocument(encDecDoc());
    expect(availableKinds(d)).toEqual(['encoder_self', 'decoder_self', 'cross']);
    const t = d.kinds.encoder_self!;
    expect(t.data).toBeInstanceOf(Float32Array);
    expect([t.layers, t.heads, t.nq, t.nk]).toEqual([2, 2, 3, 3]);
    expect(weightAt(t, 1, 1, 2, 1)).toBeCloseTo(val(1, 1, 2, 1), 6);
    expect(headMatrix(t, 1, 0)[1 * 3 + 2]).toBeCloseTo(val(1, 0, 1, 2), 6);
    expect(d.kinds.decoder_self!.causal).toBe(true);
    expect(isMasked(d.kinds.decoder_self!, 0, 1)).toBe(true);
    expect(isMasked(d.kinds.cross!, 0, 1)).toBe(false);
    expect(d.expected).toBe('hi');
  });

  it('decodes float16 and uint8 compact encodings into the same structure', () => {
    const doc = encDecDoc();
    const f16 = decodeDocument({ ...doc, encoding: 'float16', attentions: { encoder_self: compact('float16', 2, 2, 3, 3, val) } });
    const u8 = decodeDocument({ ...doc, encoding: 'uint8', attentions: { encoder_self: compact('uint8', 2, 2, 3, 3, val) } });
    const ref = decodeDocument(doc).kinds.encoder_self!;
    for (let i = 0; i < ref.data.length; i++) {
      expect(f16.kinds.encoder_self!.data[i]).toBeCloseTo(ref.data[i]!, 3);
      expect(Math.abs(u8.kinds.encoder_self!.data[i]! - ref.data[i]!)).toBeLessThanOrEqual(0.5 / 255 + 1e-7);
    }
  });

  it('accepts encoder-only documents (no decoder keys, no tgt)', () => {
    const d = decodeDocument({
      schema_version: 1, checkpoint: null, model: {}, input: 'hi', output: null,
      tokens: { src: ['[CLS]', 'hi', '##ing'] }, attentions: { encoder_self: nested(1, 1, 3, 3, val) },
    });
    expect(availableKinds(d)).toEqual(['encoder_self']);
    expect(d.tokens.tgt).toEqual([]);
    expect(toJsonDocument(d).tokens).toEqual({ src: ['[CLS]', 'hi', '##ing'] });
  });

  it('gives clear errors', () => {
    expect(() => decodeDocument([])).toThrow(DocumentError);
    expect(() => decodeDocument({ ...encDecDoc(), schema_version: 2 })).toThrow(/schema_version 2/);
    expect(() => decodeDocument({ ...encDecDoc(), attentions: {} })).toThrow(/no attention weights/);
    expect(() => decodeDocument({ ...encDecDoc(), tokens: { src: ['a'], tgt } })).toThrow(/3×3 but there are 1 src/);
    const bad = encDecDoc();
    (bad.attentions.cross[1]![0]![2] as unknown[]) = [0, 'x', 0];
    expect(() => decodeDocument(bad)).toThrow(/cross\[1\]\[0\]\[2\]\[1\] is not a number/);
    const short = { ...compact('float16', 2, 2, 3, 3, val), shape: [2, 2, 3, 4] };
    expect(() => decodeDocument({ ...encDecDoc(), attentions: { encoder_self: short } })).toThrow(/needs 48/);
  });

  it('round-trips through the schema-v1 JSON form', () => {
    const d = decodeDocument(encDecDoc());
    const j = toJsonDocument(d, 4);
    expect(j.schema_version).toBe(1);
    expect(j.attentions.encoder_self).toEqual(encDecDoc().attentions.encoder_self);
    expect(JSON.parse(JSON.stringify(j)).tokens.tgt).toEqual(tgt);
  });

  it('knows query and key sides', () => {
    expect([querySide('encoder_self'), keySide('encoder_self')]).toEqual(['src', 'src']);
    expect([querySide('decoder_self'), keySide('decoder_self')]).toEqual(['tgt', 'tgt']);
    expect([querySide('cross'), keySide('cross')]).toEqual(['tgt', 'src']);
  });
});

describe('weights outside 0–1', () => {
  it('a document with a weight of 5.0 opens with a warning naming where', () => {
    const raw = encDecDoc();
    raw.attentions.cross[1]![0]![2]![1] = 5;
    raw.attentions.cross[0]![1]![0]![0] = -0.5;
    const doc = decodeDocument(raw);
    expect(weightAt(doc.kinds.cross!, 1, 0, 2, 1)).toBe(5); // opened as it is: the numbers are the file's
    const w = doc.warnings.filter((x) => x.includes('outside 0–1'));
    expect(w).toHaveLength(1);
    expect(w[0]).toContain('attentions.cross holds 2 weights');
    expect(w[0]).toContain('5 at layer 1, head 0, query 2, key 1');
  });
  it('probabilities, and float16 rounding of 1, give no warning', () => {
    expect(decodeDocument(encDecDoc()).warnings).toEqual([]);
    const raw = encDecDoc() as Record<string, unknown>;
    raw.attentions = { encoder_self: compact('float16', 1, 1, 3, 3, () => 1) };
    raw.tokens = { src };
    expect(decodeDocument(raw).warnings).toEqual([]);
  });
});
