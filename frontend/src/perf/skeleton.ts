/**
 * The skeleton shown while the model runs: what is known before the attention document arrives.
 *
 * A toy checkpoint is character-level, so its source tokens are the input's characters and
 * `<eos>` (backend `attnviz/data.py`: `src = text + <eos>`), and the listing gives its layers and
 * heads. That is the whole shape of the encoder self-attention: the views lay out its token
 * labels, thumbnails and canvases while the server computes, and only the weights are drawn when
 * they arrive (the skeleton's weights are NaN, drawn as a neutral grey, and no arcs).
 * The decoder side depends on the output, and a pretrained model's word pieces on its tokenizer:
 * neither has a skeleton.
 */
import type { CheckpointInfo } from '../api/types';
import type { AttnDoc } from '../lib/doc';
import { findInvalid } from '../lib/text';

const EOS = '<eos>';

/** The source tokens the service will return for `text`, or null when they cannot be known here. */
export function predictSourceTokens(info: CheckpointInfo | null, text: string): string[] | null {
  if (!info || (info.kind ?? 'toy') !== 'toy' || info.family === 'toy-decoder' || !info.usable || !info.characters || !text) return null;
  const chars = Array.from(text);
  if (info.max_input_len != null && chars.length > info.max_input_len) return null;
  if (findInvalid(text, info.characters).length) return null; // the service would refuse it
  return [...chars, EOS];
}

/**
 * A document with the encoder self-attention's shape for `text` on checkpoint `name`
 * (weights NaN, no output), or null when its shape cannot be known (see predictSourceTokens).
 */
export function skeletonDoc(info: CheckpointInfo | null, name: string, text: string): AttnDoc | null {
  const src = predictSourceTokens(info, text);
  const cfg = info?.config;
  if (!info || !src || !cfg) return null;
  const n = src.length;
  const { n_layers: layers, n_heads: heads } = cfg;
  return {
    schemaVersion: 1,
    checkpoint: name,
    model: { task: info.task, epoch: info.epoch, n_layers: layers, n_heads: heads, d_model: cfg.d_model },
    input: text,
    output: null,
    expected: null,
    tokens: { src, tgt: [] },
    kinds: { encoder_self: { kind: 'encoder_self', layers, heads, nq: n, nk: n, causal: false, data: new Float32Array(layers * heads * n * n).fill(NaN) } },
    warnings: [],
    steps: null,
    specialTokens: null,
    encoding: 'json',
    weighting: 'attention',
  };
}
