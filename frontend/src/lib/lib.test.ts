import { describe, expect, it, vi } from 'vitest';
import { headArcs, pruneRowByMass } from './arcs';
import { buildLut, headColor, HEAD_COLORS, luminance, lutIndex, matrixToRgba, MASKED_RGB, PENDING_RGB, weightColor, weightLut } from './color';
import { describeCell, formatWeight, ordinal } from './format';
import { arcGeometry, arcTokenAt, arcY, cellAt, heatmapGeometry, labelStride, thumbSize } from './geometry';
import { highlightFor, sameHover, tokenLit } from './hover';
import { createStore, watch } from './store';
import { describeInvalid, diffChars, findInvalid, quoteChar, segmentInvalid } from './text';
import { displayToken, isSpecialToken } from './tokens';
import { arcsSvg, escapeXml, heatmapSvg } from './svgExport';

describe('colour', () => {
  it('maps weights onto viridis, monotone in luminance', () => {
    expect(lutIndex(0)).toBe(0);
    expect(lutIndex(-1)).toBe(0);
    expect(lutIndex(NaN)).toBe(0);
    expect(lutIndex(1)).toBe(255);
    expect(lutIndex(2)).toBe(255);
    expect(lutIndex(0.5)).toBe(128);
    expect(weightColor(0)).toBe('rgb(68,1,84)'); // viridis start
    expect(weightColor(1)).toBe('rgb(253,231,37)'); // viridis end
    let prev = -1;
    for (let i = 0; i <= 10; i++) {
      const l = luminance(weightColor(i / 10));
      expect(l).toBeGreaterThan(prev);
      prev = l;
    }
  });
  it('fills RGBA pixels and marks masked cells', () => {
    const m = new Float32Array([1, 0, 0.5, 0.5]);
    const px = matrixToRgba(m, 2, 2, true);
    const lut = weightLut();
    expect(Array.from(px.slice(0, 4))).toEqual(Array.from(lut.slice(255 * 4, 256 * 4)));
    expect(Array.from(px.slice(4, 7))).toEqual([...MASKED_RGB]);
    expect(Array.from(px.slice(8, 12))).toEqual(Array.from(lut.slice(128 * 4, 129 * 4)));
    expect(buildLut((t) => `rgb(${t * 255},0,0)`, 2)[4]).toBe(255);
  });
  it('draws weights not known yet (NaN, a skeleton) in a neutral grey, not as zero', () => {
    const px = matrixToRgba(new Float32Array([NaN, 0]), 1, 2, false);
    expect(Array.from(px.slice(0, 4))).toEqual([...PENDING_RGB, 255]);
    expect(Array.from(px.slice(4, 8))).toEqual(Array.from(weightLut().slice(0, 4)));
    expect(PENDING_RGB).not.toEqual(Array.from(weightLut().slice(0, 3)));
  });
  it('gives each head a colour, cycling', () => {
    expect(headColor(0)).toBe(HEAD_COLORS[0]);
    expect(headColor(HEAD_COLORS.length)).toBe(HEAD_COLORS[0]);
    expect(new Set(HEAD_COLORS).size).toBe(HEAD_COLORS.length);
  });
});

describe('format and tokens', () => {
  it('writes ordinals', () => {
    expect([1, 2, 3, 4, 10, 11, 12, 13, 21, 22, 23, 101, 111, 112, 113].map(ordinal)).toEqual(
      ['1st', '2nd', '3rd', '4th', '10th', '11th', '12th', '13th', '21st', '22nd', '23rd', '101st', '111th', '112th', '113th'],
    );
  });

  it('formats weights and cells', () => {
    expect(formatWeight(0.6234)).toBe('0.62');
    expect(formatWeight(0)).toBe('0');
    expect(formatWeight(0.0041)).toBe('4.1e-3');
    expect(describeCell('h', 'e', 0.62, false)).toBe("'h' → 'e': 0.62");
    expect(describeCell(' ', '<eos>', 0, true)).toBe("'␣' → '<eos>': masked");
  });
  it('shows whitespace visibly and recognises special tokens', () => {
    expect(displayToken(' ')).toBe('␣');
    expect(displayToken('\n')).toBe('↵');
    expect(displayToken('  ')).toBe('␣␣');
    expect(displayToken('##ing')).toBe('##ing');
    expect(isSpecialToken('<eos>')).toBe(true);
    expect(isSpecialToken('[CLS]')).toBe(true);
    expect(isSpecialToken('<')).toBe(false);
  });
  it('segments invalid characters by code point', () => {
    expect(segmentInvalid('aÉb€', [{ char: 'É', position: 1 }, { char: '€', position: 3 }])).toEqual([
      { text: 'a', invalid: false }, { text: 'É', invalid: true }, { text: 'b', invalid: false }, { text: '€', invalid: true },
    ]);
    expect(segmentInvalid('😀x', [{ char: 'x', position: 1 }])).toEqual([{ text: '😀', invalid: false }, { text: 'x', invalid: true }]);
    expect(diffChars('helo', 'hello').map((d) => d.ok)).toEqual([true, true, true, false]);
    const bad = findInvalid('helÉo w€rld', 'abcdefghijklmnopqrstuvwxyz ');
    expect(bad).toEqual([{ char: 'É', position: 3 }, { char: '€', position: 7 }]);
    expect(describeInvalid(bad)).toBe("Text has 2 characters outside the vocabulary: 'É' at position 3, '€' at position 7.");
    // a character that would not show is named, or given by code point
    expect(describeInvalid([{ char: '\u0000', position: 0 }, { char: '\t', position: 4 }])).toBe(
      'Text has 2 characters outside the vocabulary: U+0000 at position 0, a tab (U+0009) at position 4.',
    );
    expect(['\u200b', '\u0301', '\u2028', '\u00ad', ' ', 'a', '😀', '<'].map(quoteChar)).toEqual([
      'a zero-width space (U+200B)', 'U+0301', 'U+2028', 'U+00AD', "' '", "'a'", "'😀'", "'<'",
    ]);
    expect(findInvalid('😀a', 'a')).toEqual([{ char: '😀', position: 0 }]);
  });
});

describe('geometry', () => {
  it('fits square cells and hit-tests them', () => {
    const g = heatmapGeometry(4, 8, 200, 500, { left: 40, top: 20 });
    expect(g.cell).toBe(20);
    expect(cellAt(g, 40, 20)).toEqual({ q: 0, k: 0 });
    expect(cellAt(g, 40 + 20 * 7 + 19.9, 20 + 3 * 20 + 1)).toEqual({ q: 3, k: 7 });
    expect(cellAt(g, 39, 30)).toBeNull();
    expect(cellAt(g, 40 + 160, 30)).toBeNull();
    expect(heatmapGeometry(2, 2, 1000, 1000, { left: 0, top: 0 }, 1, 36).cell).toBe(36);
  });
  it('thins labels and sizes thumbnails', () => {
    expect(labelStride(12)).toBe(1);
    expect(labelStride(4, 11)).toBe(3);
    expect(thumbSize(4, 300, 4, 28)).toBe(65);
    expect(thumbSize(12, 300, 4, 28)).toBe(19);
    expect(thumbSize(40, 300, 4, 28)).toBe(18);
  });
  it('places arc tokens and finds them back', () => {
    const g = arcGeometry(4, 2, 300, 400, 60);
    for (let i = 0; i < 4; i++) expect(arcTokenAt(g, arcY(g, i, 4), 4)).toBe(i);
    for (let i = 0; i < 2; i++) expect(arcTokenAt(g, arcY(g, i, 2), 2)).toBe(i);
    expect(arcTokenAt(g, -5, 4)).toBe(-1);
    expect(g.xq).toBeLessThan(g.xk);
  });
});

describe('arc pruning by mass', () => {
  it('keeps the fewest largest weights reaching the mass', () => {
    const row = [0.05, 0.6, 0.3, 0.05];
    expect(pruneRowByMass(row, 0.5)).toEqual([1]);
    expect(pruneRowByMass(row, 0.9)).toEqual([1, 2]);
    expect(pruneRowByMass(row, 0.95)).toEqual([1, 2, 0]);
    expect(pruneRowByMass(row, 1)).toEqual([1, 2, 0, 3]);
    expect(pruneRowByMass([0.5, 0.5, 0.001], 1)).toEqual([0, 1]);
    expect(pruneRowByMass([0, 0, 0], 0.9)).toEqual([]);
  });
  it('prunes a uniform 128-token row less than a peaked one and respects the causal mask', () => {
    const n = 128;
    const uni = new Float32Array(n * n).fill(1 / n);
    const peak = new Float32Array(n * n);
    for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) peak[q * n + k] = k === q ? 0.9 : 0.1 / (n - 1);
    expect(headArcs(peak, n, n, 0, 0.9).length).toBe(n);
    expect(headArcs(uni, n, n, 0, 0.9).length).toBeGreaterThan(n * 100);
    const causal = headArcs(uni, 4, 4, 2, 1, true);
    expect(causal.every((a) => a.k <= a.q && a.head === 2)).toBe(true);
  });
});

describe('linked hover', () => {
  it('maps tokens to rows and columns per kind', () => {
    expect(highlightFor({ type: 'token', side: 'src', index: 2 }, 'encoder_self')).toEqual({ q: 2, k: 2, cell: false });
    expect(highlightFor({ type: 'token', side: 'src', index: 2, role: 'q' }, 'encoder_self')).toEqual({ q: 2, k: null, cell: false });
    expect(highlightFor({ type: 'token', side: 'src', index: 2 }, 'cross')).toEqual({ q: null, k: 2, cell: false });
    expect(highlightFor({ type: 'token', side: 'tgt', index: 1 }, 'cross')).toEqual({ q: 1, k: null, cell: false });
    expect(highlightFor({ type: 'cell', q: 1, k: 0 }, 'cross')).toEqual({ q: 1, k: 0, cell: true });
    expect(highlightFor(null, 'cross')).toEqual({ q: null, k: null, cell: false });
    expect(tokenLit({ type: 'cell', q: 1, k: 0 }, 'cross', 'src', 0)).toBe(true);
    expect(tokenLit({ type: 'cell', q: 1, k: 0 }, 'cross', 'tgt', 1)).toBe(true);
    expect(tokenLit({ type: 'cell', q: 1, k: 0 }, 'cross', 'src', 1)).toBe(false);
    expect(sameHover({ type: 'cell', q: 1, k: 0 }, { type: 'cell', q: 1, k: 0 })).toBe(true);
    expect(sameHover({ type: 'token', side: 'src', index: 1 }, { type: 'token', side: 'tgt', index: 1 })).toBe(false);
  });
});

describe('store', () => {
  it('gets, sets, notifies only on change, unsubscribes', () => {
    const s = createStore({ a: 1, b: 'x' });
    const fn = vi.fn();
    const off = s.subscribe(fn);
    s.set({ a: 1 });
    expect(fn).not.toHaveBeenCalled();
    s.set({ a: 2 });
    expect(fn).toHaveBeenCalledWith({ a: 2, b: 'x' }, { a: 1, b: 'x' });
    s.set((st) => ({ b: `${st.b}y` }));
    expect(s.get()).toEqual({ a: 2, b: 'xy' });
    const w = vi.fn();
    watch(s, ['b'], w);
    s.set({ a: 3 });
    expect(w).not.toHaveBeenCalled();
    s.set({ b: 'z' });
    expect(w).toHaveBeenCalledTimes(1);
    off();
    s.set({ a: 9 });
    expect(fn).toHaveBeenCalledTimes(4);
  });
});

describe('svg export', () => {
  it('builds a heatmap SVG with masked cells, labels and escaping', () => {
    const svg = heatmapSvg({ matrix: new Float32Array([1, 0, 0.5, 0.5]), nq: 2, nk: 2, causal: true, qTokens: ['<bos>', 'a'], kTokens: ['<bos>', ' '], title: 'L0 H1 & co', qAxis: 'q', kAxis: 'k' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('&lt;bos&gt;');
    expect(svg).toContain('␣');
    expect(svg).toContain('L0 H1 &amp; co');
    expect((svg.match(/url\(#masked\)/g) ?? []).length).toBe(2); // one cell + legend
    expect((svg.match(/<rect x="\d+" y="\d+" width="\d+" height="\d+" fill="rgb/g) ?? []).length).toBe(3);
    expect(escapeXml(`<a b="c">'&`)).toBe('&lt;a b=&quot;c&quot;&gt;&apos;&amp;');
  });
  it('builds an arcs SVG with one line per arc', () => {
    const svg = arcsSvg({ arcs: [{ head: 0, q: 0, k: 1, w: 0.5 }, { head: 1, q: 1, k: 0, w: 0.2 }], qTokens: ['a', 'b'], kTokens: ['a', 'b'], title: 't', heads: [0, 1] });
    expect((svg.match(/<path d="M/g) ?? []).length).toBe(2);
    expect(svg).toContain(`stroke="${headColor(1)}"`);
  });
});

describe('arc budget', () => {
  it('caps keys per query and head so a layer stays within the budget', async () => {
    const { arcsPerRow, layerArcs } = await import('./arcs');
    expect(arcsPerRow(128, 12, 6000)).toBe(3);
    expect(arcsPerRow(6, 4, 6000)).toBe(250);
    expect(arcsPerRow(128, 12)).toBe(1);
    expect(arcsPerRow(32, 4)).toBe(4);
    expect(arcsPerRow(10000, 12, 6000)).toBe(1);
    const n = 32;
    const data = new Float32Array(2 * 12 * n * n).fill(1 / n);
    const t = { kind: 'encoder_self' as const, layers: 2, heads: 12, nq: n, nk: n, data, causal: false };
    const { memorySource } = await import('./source');
    const { arcs, perRow } = layerArcs(memorySource(t), 1, [...Array(12).keys()], 0.9, 1000);
    expect(perRow).toBe(2);
    expect(arcs.length).toBe(12 * n * 2);
    // weights too faint to see (uniform over 128 keys) are not drawn at all
    const u128 = { ...t, nq: 128, nk: 128, data: new Float32Array(2 * 12 * 128 * 128).fill(1 / 128) };
    expect(layerArcs(memorySource(u128), 0, [0, 1], 0.9).arcs.length).toBe(0);
  });
});
