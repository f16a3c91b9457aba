#!/usr/bin/env node
/**
 * Synthetic attention documents (schema v1) for screenshots, demos and the browser benchmark:
 * softmax over random logits plus a strong diagonal (copy-like) or anti-diagonal (reverse).
 *
 *   node scripts/make_sample_doc.mjs --layers 2 --heads 4 --tokens 32 --task reverse > doc.json
 *   node scripts/make_sample_doc.mjs --layers 6 --heads 12 --tokens 128 --encoder-only --encoding float16 --out big.json
 *
 * Options: --layers N --heads N --tokens N (source length, <eos> included) --task copy|reverse
 *          --encoder-only --encoding json|float16|uint8 --seed N --text "..." --wrong --out FILE
 */
import { writeFileSync } from 'node:fs';

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function floatToHalf(val) {
  const f = new Float32Array([val]);
  const x = new Uint32Array(f.buffer)[0];
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
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** One head: [nq][nk] rows summing to 1. `target(q)` = the key the pattern points at. */
function headMatrix(nq, nk, rand, { target, strength, temp, causal }) {
  const m = [];
  for (let q = 0; q < nq; q++) {
    const end = causal ? q + 1 : nk;
    const logits = [];
    for (let k = 0; k < end; k++) {
      let l = (rand() - 0.5) * 2 * temp;
      const t = target(q);
      if (t !== null && k === Math.min(Math.max(t, 0), end - 1)) l += strength;
      if (t !== null && Math.abs(k - t) === 1) l += strength * 0.35;
      logits.push(l);
    }
    const mx = Math.max(...logits);
    const ex = logits.map((l) => Math.exp(l - mx));
    const sum = ex.reduce((a, b) => a + b, 0);
    const row = new Array(nk).fill(0);
    for (let k = 0; k < end; k++) row[k] = ex[k] / sum;
    m.push(row);
  }
  return m;
}

function patternFor(h, l, task, n, side) {
  const p = h % 6;
  const strength = 2.5 + l * 0.8 + (h % 3) * 0.7;
  if (side === 'cross') {
    if (p === 3) return { target: () => null, strength: 0, temp: 1.2 };
    if (task === 'reverse') return { target: (q) => (q >= n - 1 ? n - 1 : n - 2 - q), strength: strength + 2, temp: 1.5 };
    return { target: (q) => q, strength: strength + 2, temp: 1.5 };
  }
  switch (p) {
    case 0: return { target: (q) => q, strength, temp: 1.5 };
    case 1: return { target: (q) => q - 1, strength, temp: 1.5 };
    case 2: return { target: (q) => (side === 'decoder_self' ? q : q + 1), strength, temp: 1.5 };
    case 3: return { target: () => 0, strength: strength * 0.8, temp: 2 };
    case 4: return { target: (q) => (task === 'reverse' || side === 'encoder_self' ? n - 1 - q : q), strength, temp: 1.5 };
    default: return { target: () => null, strength: 0, temp: 2.2 };
  }
}

function kindTensor(L, H, nq, nk, rand, task, side) {
  const out = [];
  for (let l = 0; l < L; l++) {
    const layer = [];
    for (let h = 0; h < H; h++) {
      const pat = patternFor(h, l, task, nk, side);
      layer.push(headMatrix(nq, nk, rand, { ...pat, causal: side === 'decoder_self' }));
    }
    out.push(layer);
  }
  return out;
}

function encode(nested, encoding) {
  if (encoding === 'json') return nested.map((l) => l.map((h) => h.map((r) => r.map((v) => Math.round(v * 1e4) / 1e4))));
  const L = nested.length, H = nested[0].length, Q = nested[0][0].length, K = nested[0][0][0].length;
  const n = L * H * Q * K;
  const bytes = new Uint8Array(encoding === 'float16' ? 2 * n : n);
  let i = 0;
  for (const layer of nested) for (const head of layer) for (const row of head) for (const v of row) {
    if (encoding === 'float16') { const b = floatToHalf(v); bytes[2 * i] = b & 0xff; bytes[2 * i + 1] = b >> 8; }
    else bytes[i] = Math.round(v * 255);
    i++;
  }
  return { dtype: encoding, shape: [L, H, Q, K], ...(encoding === 'uint8' ? { scale: 1 / 255 } : {}), data: Buffer.from(bytes).toString('base64') };
}

const WORDS = ['the', 'cat', 'sat', 'on', 'mat', 'attention', 'is', 'all', 'you', 'need', 'model', 'learn', 'head', 'layer', 'token', 'query', 'key', 'value'];
const PIECES = ['##ing', '##s', '##ed', '##er', '##ly'];

export function makeDoc(opts = {}) {
  const { layers = 2, heads = 4, tokens = 32, task = 'copy', encoderOnly = false, encoding = 'json', seed = 1, wrong = false } = opts;
  const rand = rng(seed);
  let src, tgt = null, input, output = null, expected = null;
  if (encoderOnly) {
    src = ['[CLS]'];
    while (src.length < tokens - 1) src.push(rand() < 0.25 && !src[src.length - 1].startsWith('##') && src.length > 1 ? PIECES[Math.floor(rand() * PIECES.length)] : WORDS[Math.floor(rand() * WORDS.length)]);
    src.push('[SEP]');
    input = src.slice(1, -1).join(' ').replace(/ ##/g, '');
  } else {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz ';
    input = opts.text ?? Array.from({ length: tokens - 1 }, (_, i) => (i % 6 === 5 ? ' ' : alphabet[Math.floor(rand() * 26)])).join('');
    const chars = Array.from(input);
    src = [...chars, '<eos>'];
    expected = task === 'reverse' ? [...chars].reverse().join('') : task === 'sort' ? [...chars].sort().join('') : input;
    const outChars = Array.from(expected);
    if (wrong && outChars.length > 2) outChars[2] = outChars[2] === 'x' ? 'y' : 'x';
    output = outChars.join('');
    tgt = ['<bos>', ...outChars];
  }
  const n = src.length;
  const attentions = { encoder_self: kindTensor(layers, heads, n, n, rand, task, 'encoder_self') };
  if (tgt) {
    attentions.decoder_self = kindTensor(layers, heads, tgt.length, tgt.length, rand, task, 'decoder_self');
    attentions.cross = kindTensor(layers, heads, tgt.length, n, rand, task, 'cross');
  }
  for (const k of Object.keys(attentions)) attentions[k] = encode(attentions[k], encoding);
  const doc = {
    schema_version: 1,
    checkpoint: encoderOnly ? null : `${task}/ckpt_epoch3.pt`,
    model: { task: encoderOnly ? 'encoder-demo' : task, epoch: 3, n_layers: layers, n_heads: heads, d_model: 64 * Math.ceil(heads / 4) },
    input,
    output,
    tokens: tgt ? { src, tgt } : { src },
    attentions,
    warnings: [],
  };
  if (!encoderOnly) doc.expected = expected;
  if (encoding !== 'json') doc.encoding = encoding;
  return doc;
}

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--layers') o.layers = +next();
    else if (a === '--heads') o.heads = +next();
    else if (a === '--tokens') o.tokens = +next();
    else if (a === '--task') o.task = next();
    else if (a === '--encoder-only') o.encoderOnly = true;
    else if (a === '--encoding') o.encoding = next();
    else if (a === '--seed') o.seed = +next();
    else if (a === '--text') o.text = next();
    else if (a === '--wrong') o.wrong = true;
    else if (a === '--out') o.out = next();
    else throw new Error(`unknown option ${a}`);
  }
  if (o.text !== undefined) o.tokens = Array.from(o.text).length + 1;
  return o;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseArgs(process.argv.slice(2));
  const json = JSON.stringify(makeDoc(o));
  if (o.out) writeFileSync(o.out, json);
  else process.stdout.write(json);
}
