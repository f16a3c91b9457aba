import { describe, expect, it } from 'vitest';
import { LESSONS } from '../lessons';
import { archLayout, blockName } from './architecture';
import { bestHead, checkCatalogue, fill, gradeEpoch, LESSON_REDIRECTS, lineScore, nextCheckpoint, placePanel, redirectLesson, rowArgmax, validateLesson } from './lesson';
import { findLesson } from '../lessons';
import { lessonSearchIn, lessonSearchOut } from './lessonUrl';

const ok = {
  id: 'demo',
  title: 'T',
  summary: 'S',
  minutes: 3,
  steps: [{ title: 'a', state: 'ckpt=copy&kind=cross', highlight: 'focus-heatmap', prose: 'p' }],
};

describe('lesson files', () => {
  it('every lesson of the catalogue is valid, with unique ids', () => {
    expect(LESSONS.length).toBeGreaterThanOrEqual(5);
    for (const l of LESSONS) expect(validateLesson(l, l.id)).toEqual([]);
    expect(new Set(LESSONS.map((l) => l.id)).size).toBe(LESSONS.length);
  });
  it('the catalogue asks every kind of question', () => {
    const types = new Set(LESSONS.flatMap((l) => l.steps.map((s) => s.question?.type).filter(Boolean)));
    expect([...types].sort()).toEqual(['ablate', 'cell', 'choice', 'epoch', 'head']);
  });
  it('one lesson per insight view, each asking a question; the old insights id redirects to them', () => {
    for (const id of ['math', 'timeline', 'ablation', 'decoding']) {
      const l = findLesson(id);
      expect(l, id).not.toBeNull();
      expect(l!.steps.some((s) => s.question), id).toBe(true);
    }
    expect(findLesson('insights')).toBeNull();
    expect(redirectLesson('insights', 1)).toEqual({ lesson: 'math', lstep: 1 });
    expect(redirectLesson('insights', 3)).toEqual({ lesson: 'ablation', lstep: 1 });
    expect(redirectLesson('insights', 99)).toEqual({ lesson: 'decoding', lstep: 1 });
    expect(redirectLesson('insights', 0)).toEqual({ lesson: 'math', lstep: 1 });
    expect(redirectLesson('classroom', 2)).toBeNull();
    for (const to of Object.values(LESSON_REDIRECTS).flat()) expect(findLesson(to), to).not.toBeNull();
  });
  it('rejects what a broken file would hold', () => {
    expect(validateLesson(ok)).toEqual([]);
    const bad = (patch: object) => validateLesson({ ...ok, steps: [{ ...ok.steps[0], ...patch }] });
    expect(bad({ highlight: 'nowhere' }).join()).toMatch(/highlight must be one of/);
    expect(bad({ state: 'ckpt=copy&bogus=1' }).join()).toMatch(/state key "bogus"/);
    expect(bad({ extra: 1 }).join()).toMatch(/unknown field/);
    expect(bad({ question: { type: 'cell', prompt: 'p', right: 'r', wrong: 'w' } }).join()).toMatch(/row must be/);
    expect(bad({ question: { type: 'choice', prompt: 'p', right: 'r', wrong: 'w', options: ['a', 'b'], answer: 2 } }).join()).toMatch(/answer must index/);
    expect(bad({ question: { type: 'head', prompt: 'p', right: 'x', wrong: 'x', score: 'diagonal' } }).join()).toMatch(/must differ/);
    expect(bad({ question: { type: 'epoch', prompt: 'p', right: 'r', wrong: 'w' } }).join()).toMatch(/row must be/);
    expect(bad({ question: { type: 'ablate', prompt: 'p', right: 'r', wrong: 'w', ablate: 'cross:1', options: ['a', 'b'] } }).join()).toMatch(/kind:layer.head/);
    expect(bad({ question: { type: 'ablate', prompt: 'p', right: 'r', wrong: 'w', ablate: 'cross:1.2', options: ['a'] } }).join()).toMatch(/two answers/);
    expect(bad({ question: { type: 'ablate', prompt: 'p', right: 'r', wrong: 'w', ablate: 'cross:1.0,cross:1.2', options: ['a', 'b'] } })).toEqual([]);
    expect(validateLesson({ ...ok, id: 'Bad Id' }).join()).toMatch(/id must be/);
    expect(() => checkCatalogue([ok, ok])).toThrow(/duplicate lesson id/);
  });
});

describe('answers from the weights', () => {
  // 3 queries × 4 keys: row 0 reads key 2, row 1 key 0 (a tie with key 3 goes to the first)
  const m = [0.1, 0.2, 0.6, 0.1, 0.4, 0.1, 0.1, 0.4, 0.25, 0.25, 0.25, 0.25];
  it('rowArgmax reads the row, first of ties', () => {
    expect(rowArgmax(m, 4, 0)).toBe(2);
    expect(rowArgmax(m, 4, 1)).toBe(0);
  });
  it('the diagonal and anti-diagonal heads follow the weights', () => {
    const eye = [1, 0, 0, 0, 1, 0, 0, 0, 1]; // 3 × 3: queries read their own position
    const anti = [0, 1, 0, 1, 0, 0, 1, 0, 0]; // row 0 → key 1 (nk-2), row 1 → key 0
    expect(lineScore(eye, 3, 3, 'diagonal')).toBe(1);
    expect(lineScore(anti, 3, 3, 'anti-diagonal')).toBe(1);
    expect(bestHead([anti, eye], 3, 3, 'diagonal').head).toBe(1);
    expect(bestHead([anti, eye], 3, 3, 'anti-diagonal').head).toBe(0);
    // the answer moves with the weights: swap the heads and the best head follows
    expect(bestHead([eye, anti], 3, 3, 'diagonal').head).toBe(0);
  });
  it('nextCheckpoint is the run\'s next usable epoch', () => {
    const ck = (name: string, epoch: number, usable = true) => ({ name, epoch, usable });
    const list = {
      runs: [
        { checkpoints: [ck('copy/ckpt_epoch1.pt', 1), ck('copy/ckpt_epoch2.pt', 2, false), ck('copy/ckpt_epoch3.pt', 3)] },
        { checkpoints: [ck('sort/ckpt_epoch1.pt', 1), ck('sort/ckpt_epoch2.pt', 2)] },
      ],
    };
    expect(nextCheckpoint(list, 'copy/ckpt_epoch1.pt')).toBe('copy/ckpt_epoch3.pt'); // the unusable file is passed over
    expect(nextCheckpoint(list, 'copy/ckpt_epoch3.pt')).toBeNull();
    expect(nextCheckpoint(list, 'sort/ckpt_epoch1.pt')).toBe('sort/ckpt_epoch2.pt');
    expect(nextCheckpoint(list, 'nope.pt')).toBeNull();
    expect(nextCheckpoint(null, 'copy/ckpt_epoch1.pt')).toBeNull();
  });
  it('an epoch question is graded on the later weights, with both epochs for the explanation', () => {
    // 2 queries × 3 keys; row 1 is blurry before (key 0 leads), sharp on key 2 after
    const before = [1, 0, 0, 0.4, 0.3, 0.3];
    const after = [1, 0, 0, 0.1, 0.1, 0.8];
    const g = gradeEpoch(before, after, 3, 1, 2);
    expect(g).toMatchObject({ correct: true, best: 2, was: 0, weight: 0.8, weightBefore: 0.3, wasWeight: 0.4, pickedWeight: 0.8 });
    expect(gradeEpoch(before, after, 3, 1, 0).correct).toBe(false); // the cell brightest before is not the answer
    // other weights after, another answer: nothing is written down
    expect(gradeEpoch(before, [1, 0, 0, 0.7, 0.2, 0.1], 3, 1, 0)).toMatchObject({ correct: true, best: 0 });
  });
  it('fill writes the blanks it knows and leaves the others visible', () => {
    expect(fill('row {query} reads {answer} ({weight}) {oops}', { query: '<bos>', answer: 'h', weight: '0.91' })).toBe('row <bos> reads h (0.91) {oops}');
  });
});

describe('panel placement', () => {
  const W = 340;
  const H = 280;
  const inter = (p: { left: number; top: number }, t: { left: number; top: number; width: number; height: number }) =>
    p.left < t.left + t.width && t.left < p.left + W && p.top < t.top + t.height && t.top < p.top + H;
  it('never covers the target when the viewport has room beside it', () => {
    for (const [vw, vh] of [[1440, 900], [1280, 720]] as const) {
      for (let x = 0; x < vw - 300; x += 97) {
        const t = { left: x, top: 150, width: 300, height: 400 };
        const p = placePanel(t, W, H, vw, vh);
        expect(inter(p, t)).toBe(false);
        expect(p.left).toBeGreaterThanOrEqual(0);
        expect(p.left + W).toBeLessThanOrEqual(vw);
        expect(p.top + H).toBeLessThanOrEqual(vh);
      }
    }
  });
  it('covers as little as it can of a target that fills the screen', () => {
    const t = { left: 0, top: 0, width: 1200, height: 700 };
    expect(placePanel(t, W, H, 1280, 720).covers).toBeLessThan(W * H);
  });
  it('keeps clear of what the prose points to before the rest of what it avoids', () => {
    const t = { left: 600, top: 80, width: 660, height: 60 };
    const menu = { left: 30, top: 100, width: 220, height: 28 };
    const views = [
      { left: 360, top: 150, width: 920, height: 570 },
      { left: 0, top: 300, width: 360, height: 420 },
    ];
    expect(inter(placePanel(t, W, H, 1280, 720, views), menu)).toBe(true); // the corner by the menu wins otherwise
    const p = placePanel(t, W, H, 1280, 720, views, [menu]);
    expect(inter(p, menu)).toBe(false);
    expect(inter(p, t)).toBe(false);
  });
});

describe('lesson URLs', () => {
  it('step is the lesson step while a lesson is open; the decoding step moves to dstep', () => {
    expect(lessonSearchIn('?lesson=classroom&step=3&dstep=2')).toBe('?lesson=classroom&lstep=3&step=2');
    expect(lessonSearchOut('?lesson=classroom&lstep=3&step=2')).toBe('?lesson=classroom&step=3&dstep=2');
    expect(lessonSearchIn('?insight=steps&step=4')).toBe('?insight=steps&step=4');
    expect(lessonSearchOut('?insight=steps&step=4')).toBe('?insight=steps&step=4');
  });
});

describe('architecture layout', () => {
  const names = (l: ReturnType<typeof archLayout>) => l.blocks.filter((b) => b.name).map((b) => b.name);
  it('encoder-decoder: three attention blocks per layer pair, named from layer 1', () => {
    const l = archLayout({ encoder: 2, decoder: 2, cross: true, heads: 4 });
    expect(names(l)).toEqual([
      'Encoder self-attention, layer 1',
      'Encoder self-attention, layer 2',
      'Masked self-attention, layer 1',
      'Cross-attention, layer 1',
      'Masked self-attention, layer 2',
      'Cross-attention, layer 2',
    ]);
    expect(l.blocks.find((b) => b.name === 'Cross-attention, layer 2')).toMatchObject({ kind: 'cross', layer: 1 });
    expect(l.blocks.filter((b) => b.cls === 'norm')).toHaveLength(2 * 2 + 2 * 3);
    expect(l.blocks.filter((b) => b.cls === 'pe')).toHaveLength(2);
  });
  it('decoder-only and encoder-only shapes', () => {
    expect(names(archLayout({ encoder: 0, decoder: 3, cross: false, heads: 2 }))).toEqual([1, 2, 3].map((n) => `Masked self-attention, layer ${n}`));
    const enc = archLayout({ encoder: 6, decoder: 0, cross: false, heads: 12 });
    expect(names(enc)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `Encoder self-attention, layer ${n}`));
    expect(blockName('cross', 0)).toBe('Cross-attention, layer 1');
  });
  it('blocks stay inside the drawing and do not overlap', () => {
    for (const shape of [{ encoder: 2, decoder: 2, cross: true, heads: 4 }, { encoder: 6, decoder: 0, cross: false, heads: 12 }]) {
      const l = archLayout(shape);
      for (const b of l.blocks) {
        expect(b.x).toBeGreaterThanOrEqual(0);
        expect(b.y).toBeGreaterThanOrEqual(0);
        expect(b.x + b.w).toBeLessThanOrEqual(l.width);
        expect(b.y + b.h).toBeLessThanOrEqual(l.height);
      }
      for (const a of l.blocks) for (const b of l.blocks) if (a !== b) expect(a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h).toBe(false);
    }
  });
});
