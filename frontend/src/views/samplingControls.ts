/**
 * How the next token is chosen, for a model that generates (views/decodeSteps.ts mounts it):
 * greedy, or sampled with a temperature, top-k, top-p and a seed (URL keys `temp`, `topk`,
 * `topp`, `seed`; lib/sampling.ts). A change re-runs the model (main.ts); sampling always carries
 * a seed, so the URL reproduces the draw, and "New draw" picks another.
 */
import type { Store } from '../lib/store';
import { generates, isSampling, MAX_SEED, MAX_TEMPERATURE, newSeed } from '../lib/sampling';
import type { AppState } from '../app/state';
import { findCheckpoint } from './inputBar';
import { isEmbedded } from '../app/embedded';

function numberInput(label: string, testid: string, attrs: { min: number; max: number; step: number }, title: string) {
  const wrap = document.createElement('label');
  wrap.className = 'smp-field';
  wrap.title = title;
  const span = document.createElement('span');
  span.textContent = label;
  const input = document.createElement('input');
  input.type = 'number';
  input.dataset.testid = testid;
  input.min = String(attrs.min);
  input.max = String(attrs.max);
  input.step = String(attrs.step);
  wrap.append(span, input);
  return { wrap, input };
}

/** A number typed in `input` within [min, max], or null (empty, not a number, out of range). */
function read(input: HTMLInputElement, min: number, max: number, integer = false): number | null {
  if (input.value.trim() === '') return null;
  const v = Number(input.value);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) return null;
  return v;
}

export function createSamplingControls(container: HTMLElement, store: Store<AppState>) {
  container.classList.add('sampling-controls');
  container.dataset.testid = 'sampling-controls';
  const title = document.createElement('span');
  title.className = 'smp-title';
  title.textContent = 'Next token:';
  const greedy = document.createElement('button');
  greedy.className = 'btn small';
  greedy.dataset.testid = 'sampling-greedy';
  greedy.textContent = 'Greedy';
  greedy.title = 'Always the most probable token (temperature 0)';
  const slider = document.createElement('input');
  slider.type = 'range';
  slider.min = '0';
  slider.max = '2';
  slider.step = '0.05';
  slider.dataset.testid = 'sampling-temp-slider';
  slider.setAttribute('aria-label', 'Temperature');
  const temp = numberInput('temperature', 'sampling-temp', { min: 0, max: MAX_TEMPERATURE, step: 0.1 }, `0 = greedy; above 0 the next token is drawn from softmax(logits / temperature) (at most ${MAX_TEMPERATURE})`);
  const topk = numberInput('top-k', 'sampling-topk', { min: 0, max: 1 << 20, step: 1 }, 'Draw only from the k most probable tokens (0 = all)');
  const topp = numberInput('top-p', 'sampling-topp', { min: 0.01, max: 1, step: 0.05 }, 'Nucleus: draw from the fewest most probable tokens whose probabilities add up to p (1 = all)');
  const seed = numberInput('seed', 'sampling-seed', { min: 0, max: MAX_SEED, step: 1 }, 'The same seed gives the same draw');
  const redraw = document.createElement('button');
  redraw.className = 'btn small';
  redraw.dataset.testid = 'sampling-redraw';
  redraw.textContent = 'New draw';
  redraw.title = 'Sample again with a new seed';
  const note = document.createElement('span');
  note.className = 'smp-note';
  note.dataset.testid = 'sampling-note';
  container.append(title, greedy, slider, temp.wrap, topk.wrap, topp.wrap, seed.wrap, redraw, note);

  /** Start sampling with a seed of its own (so the URL names the draw); 0 goes back to greedy. */
  function setTemp(t: number) {
    const s = store.get();
    store.set(t > 0 && s.seed < 0 ? { temp: t, seed: newSeed() } : { temp: t });
  }
  greedy.addEventListener('click', () => store.set({ temp: 0, topk: 0, topp: 1, seed: -1 }));
  slider.addEventListener('input', () => {
    temp.input.value = slider.value; // the number follows the drag; the model runs on release
  });
  slider.addEventListener('change', () => setTemp(Number(slider.value)));
  temp.input.addEventListener('change', () => {
    const v = read(temp.input, 0, MAX_TEMPERATURE);
    if (v === null) return render();
    setTemp(v);
  });
  topk.input.addEventListener('change', () => {
    const v = read(topk.input, 0, 1 << 20, true);
    if (v === null) return render();
    store.set({ topk: v });
  });
  topp.input.addEventListener('change', () => {
    const v = read(topp.input, 0.0001, 1);
    if (v === null) return render();
    store.set({ topp: v });
  });
  seed.input.addEventListener('change', () => {
    const v = read(seed.input, 0, MAX_SEED, true);
    if (v === null) return render();
    store.set({ seed: v });
  });
  redraw.addEventListener('click', () => store.set({ seed: newSeed() }));

  function render() {
    const s = store.get();
    // a saved page or an opened file has no model to sample from: its document is shown as it was
    const shown = generates(findCheckpoint(s, s.ckpt)) && s.docSource !== 'file' && !isEmbedded() && !!s.ckpt;
    container.hidden = !shown;
    if (!shown) return;
    const on = isSampling(s);
    container.classList.toggle('sampling', on);
    greedy.classList.toggle('on', !on);
    greedy.setAttribute('aria-pressed', String(!on));
    slider.value = String(Math.min(2, s.temp));
    if (document.activeElement !== temp.input) temp.input.value = String(s.temp);
    if (document.activeElement !== topk.input) topk.input.value = String(s.topk);
    if (document.activeElement !== topp.input) topp.input.value = String(s.topp);
    if (document.activeElement !== seed.input) seed.input.value = s.seed >= 0 ? String(s.seed) : '';
    for (const el of [topk.input, topp.input, seed.input, redraw]) el.disabled = !on;
    note.textContent = on ? '' : 'greedy: the most probable token each step';
  }

  store.subscribe((s, p) => {
    if (s.temp !== p.temp || s.topk !== p.topk || s.topp !== p.topp || s.seed !== p.seed || s.ckpt !== p.ckpt || s.checkpoints !== p.checkpoints || s.docSource !== p.docSource) render();
  });
  render();
}
