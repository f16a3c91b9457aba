import { beforeAll, describe, expect, it, vi } from 'vitest';
import indexHtml from '../../index.html?raw';
import { URL_SPECS, type AppState } from '../app/state';
import { containersBySlot, isContainer, isTab, makeContainers, SLOTS, type ViewSpec } from './spec';

// the registry imports every view, and embedded.ts reads the page at load: a page with no document
// embedded is enough (vitest runs in node; the views are only imported, not created)
let VIEWS: readonly ViewSpec[];
let focusedSvg: typeof import('./index').focusedSvg;
beforeAll(async () => {
  vi.stubGlobal('document', { getElementById: () => null });
  ({ VIEWS, focusedSvg } = await import('./index'));
  vi.unstubAllGlobals();
});

/** Just enough of a DOM for makeContainers: elements with children, templates found by slot. */
class El {
  id = '';
  className = '';
  dataset: Record<string, string> = {};
  children: El[] = [];
  parent: El | null = null;
  constructor(
    readonly tagName: string,
    readonly slot = '',
  ) {}
  append(...els: El[]) {
    for (const e of els) e.parent = this;
    this.children.push(...els);
  }
  replaceWith(...els: El[]) {
    const p = this.parent!;
    for (const e of els) e.parent = p;
    p.children.splice(p.children.indexOf(this), 1, ...els);
  }
  get text(): string {
    return `${this.tagName}${this.id ? `#${this.id}` : ''}${this.className ? `.${this.className}` : ''}${this.dataset.testid ? `[${this.dataset.testid}]` : ''}`;
  }
}

/** A page whose every slot sits between two fixed elements (as the views' slot sits before the loading veil). */
function fakePage() {
  const root = new El('div');
  for (const slot of SLOTS) {
    const region = new El('div', `region-${slot}`);
    region.append(new El('i'), new El('template', slot), new El('b'));
    root.append(region);
  }
  const all = (e: El): El[] => [e, ...e.children.flatMap(all)];
  const doc = {
    createElement: (tag: string) => new El(tag),
    querySelector: (sel: string) => all(root).find((e) => e.tagName === 'template' && sel === `template[data-slot="${e.slot}"]`) ?? null,
  };
  const region = (slot: string) => root.children.find((r) => r.slot === `region-${slot}`)!.children.map((e) => e.text);
  return { doc: doc as unknown as Document, region };
}

describe('view specs', () => {
  it('have unique ids, and containers of unique ids', () => {
    const ids = VIEWS.map((v) => v.id);
    expect(new Set(ids).size).toBe(ids.length);
    const containers = [...containersBySlot(VIEWS).values()].flat().map((c) => c.id);
    expect(new Set(containers).size).toBe(containers.length);
    expect(containers).toContain('focus-heatmap');
  });

  it('make each container in its slot, in order, where index.html had it', () => {
    const { doc, region: all } = fakePage();
    makeContainers(VIEWS, doc);
    // the containers below, in their slot between its fixed neighbours (a new view's may join them)
    const known = new Set(['i', 'b', 'div#input-bar', 'div#toolbar.toolbar', 'section#output-panel', 'nav#kind-tabs', 'nav#insight-tabs']);
    for (const id of ['insight-bar', 'span-bar', 'weighting-toggle', 'special-toggle', 'ablation-bar']) known.add(`div#${id}`);
    for (const id of ['model-view', 'focus-heatmap', 'arc-view', 'stats-table', 'diff-view', 'insight-panel[insight-panel]']) known.add(`section#${id}`);
    const region = (slot: string) => all(slot).filter((e) => known.has(e));
    // the page as index.html wrote it before views declared their containers (styles.css, the
    // tests and the lessons select these ids, classes and test ids; the grid places them in order)
    expect(region('input')).toEqual(['i', 'div#input-bar', 'b']);
    expect(region('topbar')).toEqual(['i', 'div#toolbar.toolbar', 'b']);
    expect(region('output')).toEqual(['i', 'section#output-panel', 'b']);
    expect(region('kinds')).toEqual(['i', 'nav#kind-tabs', 'nav#insight-tabs', 'b']);
    expect(region('tools')).toEqual(['i', 'div#insight-bar', 'div#span-bar', 'div#weighting-toggle', 'div#special-toggle', 'div#ablation-bar', 'b']);
    expect(region('views')).toEqual([
      'i',
      'section#model-view',
      'section#focus-heatmap',
      'section#arc-view',
      'section#stats-table',
      'section#diff-view',
      'section#insight-panel[insight-panel]',
      'b',
    ]);
  });

  it('fails loudly on a page without a slot', () => {
    const doc = { querySelector: () => null, createElement: () => new El('div') } as unknown as Document;
    expect(() => makeContainers(VIEWS, doc)).toThrow(/data-slot="input"/);
  });

  it('have their slots in index.html, and no container written there too', () => {
    for (const slot of SLOTS) expect(indexHtml).toContain(`<template data-slot="${slot}"></template>`);
    for (const c of [...containersBySlot(VIEWS).values()].flat()) expect(indexHtml).not.toContain(`id="${c.id}"`);
  });

  it('draw in a container one of them makes, and can be created', () => {
    const made = new Set([...containersBySlot(VIEWS).values()].flat().map((c) => c.id));
    for (const v of VIEWS) {
      if (typeof v.place === 'object' && 'in' in v.place) expect(made, v.id).toContain(v.place.in);
      // only an insight tab may be loaded when first opened
      expect(!!v.create || (isTab(v.place) && !!v.lazy), v.id).toBe(true);
    }
    expect(VIEWS.filter((v) => isTab(v.place)).map((v) => v.id)).toEqual(['timeline', 'math', 'steps', 'train', 'arch']);
    expect(VIEWS.filter((v) => isContainer(v.place)).length).toBeGreaterThan(10);
  });

  it('own every URL key once (`view` is the page’s: main.ts, insight.ts)', () => {
    const owned = VIEWS.flatMap((v) => v.url ?? []);
    expect(new Set(owned).size).toBe(owned.length);
    expect([...owned, 'view'].sort()).toEqual(Object.keys(URL_SPECS).sort());
  });

  it('download the focused view by its export, else the focus heatmap', () => {
    const fake = (view: 'heatmap' | 'arcs'): ViewSpec => ({ id: view, place: 'body', export: { view, svg: () => `<svg>${view}</svg>` } });
    const s = (view: AppState['view']) => ({ view, doc: null }) as AppState;
    expect(focusedSvg(s('arcs'), [fake('heatmap'), fake('arcs')])).toBe('<svg>arcs</svg>');
    expect(focusedSvg(s('stats'), [fake('arcs'), fake('heatmap')])).toBe('<svg>heatmap</svg>');
    expect(focusedSvg(s('diff'), [fake('arcs')])).toBeNull();
    expect(focusedSvg(s('arcs'))).toBeNull(); // the page's views, with no document to draw
    expect(VIEWS.filter((v) => v.export).map((v) => [v.id, v.export!.view])).toEqual([
      ['focus-heatmap', 'heatmap'],
      ['arc-view', 'arcs'],
    ]);
  });
});
