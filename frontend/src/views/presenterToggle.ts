/**
 * Presenter mode (`?present=1`, or this toggle): large type, high contrast, only the input and the
 * focused view, readable from the back of a room on a 1280×720 projector. The styling is
 * `presenter.css` under `body.present`; the views scale their own labels (see `labelScale`).
 */
import '../presenter.css';
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import type { ViewSpec } from './spec';

export function createPresenterToggle(toolbar: HTMLElement, store: Store<AppState>) {
  const b = document.createElement('button');
  b.className = 'btn present-toggle';
  b.dataset.testid = 'present-toggle';
  b.addEventListener('click', () => store.set({ present: !store.get().present }));
  toolbar.append(b);

  // in presenter mode the model view is hidden: say how to move between heads
  const hint = document.createElement('div');
  hint.className = 'present-hint';
  hint.dataset.testid = 'present-hint';
  hint.textContent = '←→ head · ↑↓ layer';
  toolbar.append(hint);

  const render = (s: AppState) => {
    b.textContent = s.present ? 'Exit presenter' : 'Present';
    b.title = s.present ? 'Back to the full view' : 'Presenter mode: large type, the input and the focused view only';
    b.setAttribute('aria-pressed', String(s.present));
  };
  store.subscribe((s, p) => s.present !== p.present && render(s));
  render(store.get());
}

export const spec: ViewSpec = { id: 'presenter-toggle', place: { in: 'toolbar' }, url: ['present'], create: createPresenterToggle };
