import { describe, expect, it } from 'vitest';

// the views' sources (tests aside), keyed './views/arcView.ts' and so on
const views = import.meta.glob<string>(['./views/*.ts', '!./views/*.test.ts'], { query: '?raw', import: 'default', eager: true });

/**
 * The expressions whose `.data` a source reads (d3's `.data(…)` joins and `.dataset` aside). The
 * math view's step-through tables (`spec.data`, `t.q.data`, `c.t.q.data`: the math endpoint's numbers, not a
 * kind's weights) are not attention tensors.
 */
function dataReads(file: string, source: string): string[] {
  const reads = [...source.matchAll(/([\w$.?!\][]+)\.data\b(?!\s*\()/g)].map((m) => m[1]!);
  return file === './views/mathView.ts' ? reads.filter((r) => !/^(spec|!?(c\.)?t\.\w+\??)$/.test(r)) : reads;
}

/** Readers of a tensor's memory that a view must not call: it asks its attention source (lib/source.ts). */
const TENSOR_READERS = /\b(headMatrix|weightAt|refMatrix|headThumb|kindStats)\b/;

/** The views that read weights through the attention source (the tiled heatmap and the long arcs draw an
 *  overview from its tiles and pooled thumbnail, lib/tiled.ts). */
const ON_SOURCE = ['focusHeatmap', 'modelView', 'arcView', 'statsTable', 'diffView', 'compareGrid', 'timelineView', 'decodeSteps', 'insightCommon', 'common', 'lessonPanel'];

describe('views read attention weights through the attention source', () => {
  it('reads the views', () => {
    expect(Object.keys(views)).toContain('./views/focusHeatmap.ts');
    expect(Object.keys(views).length).toBeGreaterThan(20);
  });

  it("finds a tensor's .data where there is one", () => {
    expect(dataReads('./views/x.ts', 'const w = t.data[i];\nsel.data(rows).join("p"); el.dataset.i = "1";')).toEqual(['t']);
    expect(dataReads('./views/mathView.ts', 'const a = t.q.data[i]; const b = spec.data; const c = t.data[0];')).toEqual(['t']);
  });

  it("no view indexes a tensor's .data", () => {
    const found = Object.entries(views).flatMap(([file, source]) => dataReads(file, source).map((r) => `${file}: ${r}.data`));
    expect(found).toEqual([]);
  });

  it('the views moved to the source call no tensor reader', () => {
    expect(TENSOR_READERS.test('const m = headMatrix(t, 0, 1);')).toBe(true);
    const found = ON_SOURCE.filter((name) => TENSOR_READERS.test(views[`./views/${name}.ts`]!));
    expect(found).toEqual([]);
  });
});
