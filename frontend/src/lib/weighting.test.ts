import { describe, expect, it } from 'vitest';
import { decodeDocument, toJsonDocument } from './doc';
import { compactDocument } from './embedHtml';
import { shownDoc } from '../app/state';

function doc(extra: Record<string, unknown> = {}) {
  return {
    schema_version: 1,
    checkpoint: 'copy/ckpt_epoch3.pt',
    model: {},
    input: 'ab',
    output: null,
    tokens: { src: ['a', 'b'] },
    attentions: { encoder_self: [[[[0.75, 0.25], [0.5, 0.5]]]] },
    warnings: [],
    ...extra,
  };
}

describe('the document weighting', () => {
  it('is read from the document, attention when absent or unknown', () => {
    expect(decodeDocument(doc()).weighting).toBe('attention');
    expect(decodeDocument(doc({ weighting: 'value_norm' })).weighting).toBe('value_norm');
    expect(decodeDocument(doc({ weighting: 'something' })).weighting).toBe('attention');
  });

  it('survives the JSON and single-file exports', () => {
    const d = decodeDocument(doc({ weighting: 'value_norm' }));
    expect(toJsonDocument(d).weighting).toBe('value_norm');
    expect(compactDocument(d).weighting).toBe('value_norm');
    expect(decodeDocument(JSON.parse(JSON.stringify(compactDocument(d)))).weighting).toBe('value_norm');
    expect(toJsonDocument(decodeDocument(doc())).weighting).toBeUndefined(); // the default is left out, as before
  });

  it('shownDoc drops the first token before hiding special tokens, the raw document untouched', () => {
    const raw = decodeDocument(doc({ tokens: { src: ['<s>', 'b'] } }));
    const shown = shownDoc(raw, false, undefined, true);
    expect(Array.from(shown.kinds.encoder_self!.data)).toEqual([0, 1, 0, 1]);
    expect(Array.from(raw.kinds.encoder_self!.data)).toEqual([0.75, 0.25, 0.5, 0.5]);
    expect(shownDoc(raw, false, undefined, false)).toBe(raw);
  });
});
