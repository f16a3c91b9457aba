/**
 * First-paint helpers, the only module that knows about them: while the first document is
 * computed, a skeleton of it (perf/skeleton.ts: shape and labels, weights NaN) is put in the store
 * as the document, so the views lay it out and only the weights are left to draw when the answer
 * arrives; and the hot drawing code and font lookups are warmed up while the page waits
 * (warmup.ts). Views just draw whatever document the store holds.
 */
import { shownDoc, type AppState } from '../app/state';
import type { Store } from '../lib/store';
import { skeletonDoc } from './skeleton';
import { findCheckpoint } from '../views/inputBar';
import { scheduleWarmUp, warmAggregates, warmFonts } from './warmup';

/** Is the shown document a skeleton (no weights yet), not one received from the server or a file? */
export function isSkeleton(s: Pick<AppState, 'doc' | 'rawDoc'>): boolean {
  return s.doc !== null && s.rawDoc === null;
}

/** Install the helpers; call the returned `booted` once the page is interactive: the warm-up
 * starts then, so it never delays the boot (it has the wait for the first document to fill). */
export function installPerf(store: Store<AppState>, glyphs: HTMLElement): { booted: () => void } {
  warmFonts(glyphs);
  // while a request runs and nothing real is shown, the store holds the skeleton of what it will
  // show; once it ends (answer, error, abort) the skeleton goes
  store.subscribe((s, p) => {
    if (s.status === p.status && s.rawDoc === p.rawDoc && s.ckpt === p.ckpt && s.text === p.text && s.kind === p.kind && s.hidespecial === p.hidespecial) return;
    const shape = s.status === 'loading' && !s.rawDoc && s.kind === 'encoder_self' ? skeletonDoc(findCheckpoint(s, s.ckpt), s.ckpt, s.text) : null;
    if (!shape) {
      if (isSkeleton(s)) store.set({ doc: null });
      return;
    }
    if (isSkeleton(s) && s.doc!.checkpoint === s.ckpt && s.doc!.input === s.text && s.hidespecial === p.hidespecial) return;
    store.set({ doc: shownDoc(shape, s.hidespecial) });
    // lay it out now rather than at the next frame, which a quick answer can beat: the
    // document's own frame then only restyles what its weights change
    void document.documentElement.offsetHeight;
    performance.mark('attnviz:skeleton');
    warmAggregates();
  });
  return { booted: () => scheduleWarmUp(() => store.get().rawDoc !== null) };
}
