/**
 * A view's declaration, exported by its file next to its create function (`export const spec`):
 * where it goes on the page, what it needs, the URL keys it owns and what it downloads.
 * views/index.ts lists the specs, one line each; `mountViews` makes each container in its slot of
 * index.html (a `<template data-slot>`) and creates the views in list order.
 */
import type { Feature } from '../api/types';
import type { Store } from '../lib/store';
import type { AppState, InsightName, UrlState, ViewName } from '../app/state';

/** The layout regions of index.html, each a `<template data-slot="…">` the containers replace. */
export const SLOTS = ['input', 'topbar', 'output', 'kinds', 'tools', 'views'] as const;
export type Slot = (typeof SLOTS)[number];

/** A container made for a view: `<tag id class data-testid>` in `slot`, `order` placing it among the slot's containers. */
export interface Container {
  slot: Slot;
  order: number;
  tag: 'div' | 'section' | 'nav';
  id: string;
  className?: string;
  testid?: string;
}

/** A panel of the insight panel (views/insightPanel.ts), opened by its tab in the kind row. */
export interface Tab {
  tab: Exclude<InsightName, 'none'>;
  label: string;
  title: string;
  /** opens beside the focused head (in the arcs' place) instead of over both */
  beside?: boolean;
}

/**
 * Where a view draws: a container of its own; `{ in: id }`, the container of another view
 * (the focus heatmap's holds the tiled heatmap too); an insight tab; or 'body', for a view that
 * places its own element (the lesson panel, over the page).
 */
export type Place = Container | { in: string } | Tab | 'body';

/** What a view may ask of the page. */
export interface App {
  run(): void;
  openFile(): void;
  /** the focused view as SVG (its spec's `export`), for the downloads */
  focusedSvg(s: AppState): string | null;
}

/** The page as a view's create function sees it: any container by id, the app, every spec. */
export interface Page {
  at(id: string): HTMLElement;
  app: App;
  views: readonly ViewSpec[];
}

export type Create = (el: HTMLElement, store: Store<AppState>, page: Page) => void;

export interface ViewSpec {
  id: string;
  place: Place;
  /** further containers made for it (reached with `page.at(id)`): the insight panel's tab strip */
  more?: readonly Container[];
  /** the model feature it needs (lib/features.ts): an insight tab is unavailable, and says why, without it */
  needs?: { feature: Feature };
  /** the URL keys (state.ts URL_SPECS) this view owns: it is the one that sets them */
  url?: readonly (keyof UrlState)[];
  /** the downloads (PNG, SVG) of this view while it is the focused one (`view`, its data-view) */
  export?: { view: ViewName; svg(s: AppState): string | null };
  /** draws into `el` (its place) and subscribes to the store */
  create?: Create;
  /** an insight tab's code loaded the first time it is opened, instead of `create` */
  lazy?: () => Promise<Create>;
}

export const isTab = (p: Place): p is Tab => typeof p === 'object' && 'tab' in p;
export const isContainer = (p: Place): p is Container => typeof p === 'object' && 'slot' in p;

/** Every container the specs make, by slot, in order. */
export function containersBySlot(views: readonly ViewSpec[]): Map<Slot, Container[]> {
  const out = new Map<Slot, Container[]>(SLOTS.map((s) => [s, []]));
  for (const v of views) for (const c of [...(isContainer(v.place) ? [v.place] : []), ...(v.more ?? [])]) out.get(c.slot)!.push(c);
  for (const list of out.values()) list.sort((a, b) => a.order - b.order);
  return out;
}

/** Put each slot's containers in place of its `<template data-slot>` (index.html), so the page's DOM is as if written there. */
export function makeContainers(views: readonly ViewSpec[], doc: Document): void {
  for (const [slot, list] of containersBySlot(views)) {
    const at = doc.querySelector(`template[data-slot="${slot}"]`);
    if (!at) throw new Error(`index.html has no <template data-slot="${slot}">`);
    at.replaceWith(
      ...list.map((c) => {
        const el = doc.createElement(c.tag);
        el.id = c.id;
        if (c.className) el.className = c.className;
        if (c.testid) el.dataset.testid = c.testid;
        return el;
      }),
    );
  }
}

/** Make the containers, then create every view but the insight tabs (the insight panel creates those), in list order. */
export function mountViews(views: readonly ViewSpec[], store: Store<AppState>, app: App, doc: Document = document): void {
  makeContainers(views, doc);
  const at = (id: string) => {
    const el = doc.getElementById(id);
    if (!el) throw new Error(`no element #${id} for a view`);
    return el;
  };
  const page: Page = { at, app, views };
  for (const v of views) {
    const p = v.place;
    if (isTab(p)) continue;
    if (!v.create) throw new Error(`view ${v.id} has no create`);
    v.create(p === 'body' ? doc.body : 'in' in p ? at(p.in) : at(p.id), store, page);
  }
}
