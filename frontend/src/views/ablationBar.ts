/**
 * Head ablation: switch the focused head off (its output and weights become 0 for the whole run,
 * greedy decoding included), see the switched-off heads as chips, greyed in the model view, and
 * the new output beside the intact model's (and whether each is correct). State: `ablate` in the URL.
 */
import { cachedDocument } from '../app/data';
import { ablationKey, headLabel, isAblated, toggleHead } from '../lib/ablate';
import { checkpointInfo, featureBlock, supportedFeatures } from '../lib/features';
import type { Store } from '../lib/store';
import { displayToken } from '../lib/tokens';
import type { AppState } from '../app/state';
import type { ViewSpec } from './spec';

interface Baseline {
  output: string | null;
  expected: string | null;
}

export function createAblationBar(container: HTMLElement, store: Store<AppState>) {
  container.classList.add('ablation-bar');
  const toggle = document.createElement('button');
  toggle.className = 'btn small';
  toggle.dataset.testid = 'ablate-toggle';
  toggle.addEventListener('click', () => {
    const s = store.get();
    store.set({ ablate: toggleHead(s.ablate, { kind: s.kind, layer: s.layer, head: s.head }) });
  });
  const chips = document.createElement('div');
  chips.className = 'ablate-chips';
  chips.dataset.testid = 'ablate-chips';
  const compare = document.createElement('div');
  compare.className = 'ablation-compare';
  compare.dataset.testid = 'ablation-compare';
  container.append(toggle, chips, compare);

  /** the intact model's output per checkpoint + text (from documents seen, or one fetch) */
  const baselines = new Map<string, Baseline>();
  const pending = new Set<string>();
  const keyOf = (ckpt: string, text: string) => `${ckpt}\n${text}`;

  /** a received document (`rawDoc`, never a skeleton) computed without ablation is its own baseline
   *  (greedy only: a sampled output is one draw, not what the intact model writes) */
  function remember(s: AppState) {
    const d = s.rawDoc;
    if (d && s.docAblate === '' && s.docSampling === '' && d.checkpoint) baselines.set(keyOf(d.checkpoint, d.input), { output: d.output, expected: d.expected });
  }

  function fetchBaseline(ckpt: string, text: string) {
    const k = keyOf(ckpt, text);
    if (baselines.has(k) || pending.has(k)) return;
    pending.add(k);
    cachedDocument(ckpt, text)
      .then((d) => {
        baselines.set(k, { output: d.output, expected: d.expected });
        render();
      })
      .catch(() => undefined)
      .finally(() => pending.delete(k));
  }

  function verdict(out: string | null, expected: string | null): string {
    if (out === null || expected === null) return '';
    return out === expected ? ' ✓' : ' ✗';
  }

  function render() {
    const s = store.get();
    const on = isAblated(s.ablate, s.kind, s.layer, s.head);
    toggle.textContent = on ? `Restore L${s.layer}·H${s.head}` : `Switch off L${s.layer}·H${s.head}`;
    toggle.title = on ? 'Give this head its weights back' : 'Ablate the focused head: its output and weights become 0, and the model runs again';
    toggle.classList.toggle('on', on);
    const why = featureBlock(s.checkpoints, s.ckpt, 'ablate', s.docSource === 'file');
    toggle.disabled = !s.doc || !!why;
    if (why) toggle.title = why;
    // nothing to switch off on a model that cannot: no button to press, the reason in its place
    container.classList.toggle('unavailable', !!why && s.checkpointsStatus === 'ready');
    chips.replaceChildren(
      ...s.ablate.map((h) => {
        const c = document.createElement('span');
        c.className = 'ablate-chip';
        c.dataset.testid = 'ablate-chip';
        c.textContent = headLabel(h);
        const x = document.createElement('button');
        x.textContent = '×';
        x.title = `Switch ${headLabel(h)} back on`;
        x.setAttribute('aria-label', x.title);
        x.addEventListener('click', () => store.set({ ablate: toggleHead(store.get().ablate, h) }));
        c.append(x);
        return c;
      }),
    );
    compare.replaceChildren();
    if (s.ablate.length && s.doc && s.docAblate === ablationKey(s.ablate) && s.doc.checkpoint) {
      const base = baselines.get(keyOf(s.doc.checkpoint, s.doc.input));
      if (!base) fetchBaseline(s.doc.checkpoint, s.doc.input);
      const out = s.doc.output ?? '';
      const now = document.createElement('span');
      now.className = `abl-out ${s.doc.expected === null ? '' : out === s.doc.expected ? 'ok' : 'bad'}`;
      now.dataset.testid = 'ablation-output';
      now.textContent = `now “${Array.from(out).map(displayToken).join('')}”${verdict(out, s.doc.expected)}`;
      const was = document.createElement('span');
      was.className = 'abl-was';
      was.dataset.testid = 'ablation-original';
      was.textContent = base ? `was “${Array.from(base.output ?? '').map(displayToken).join('')}”${verdict(base.output, base.expected)}` : 'was …';
      compare.append(now, was);
      compare.title = base && base.output === out ? 'Same output as the intact model' : 'The output changed';
    }
  }

  store.subscribe((s, p) => {
    // a model that cannot ablate (a pretrained encoder) drops switched-off heads from a link,
    // rather than sending a request that fails
    if (s.ablate.length && (s.ckpt !== p.ckpt || s.checkpoints !== p.checkpoints || s.ablate !== p.ablate) && s.checkpointsStatus === 'ready') {
      const info = checkpointInfo(s.checkpoints, s.ckpt);
      if (info && !supportedFeatures(info).has('ablate')) return store.set({ ablate: [] });
    }
    if (s.rawDoc !== p.rawDoc) remember(s);
    if (s.doc !== p.doc || s.ablate !== p.ablate || s.ckpt !== p.ckpt || s.checkpoints !== p.checkpoints || s.docSource !== p.docSource || s.kind !== p.kind || s.layer !== p.layer || s.head !== p.head || s.docAblate !== p.docAblate) render();
  });
  remember(store.get());
  render();
}

export const spec: ViewSpec = { id: 'ablation-bar', place: { slot: 'tools', order: 5, tag: 'div', id: 'ablation-bar' }, url: ['ablate'], create: createAblationBar };
