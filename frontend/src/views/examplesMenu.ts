/**
 * "Examples" menu by the input bar: per task a few inputs chosen to show something; one click sets
 * the text and, when the server has a run of that task, its checkpoint. Each entry says what to
 * look for. A native <details> popover: keyboard and screen readers work without extra code.
 */
import * as d3 from 'd3';
import '../examples.css';
import { checkpointForTask, GALLERY, type Example, type TaskExamples } from '../lib/examples';
import { KIND_SHORT } from '../lib/doc';
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import type { ViewSpec } from './spec';

export function createExamplesMenu(container: HTMLElement, store: Store<AppState>) {
  const details = d3
    .select(container)
    .insert('details', '.status')
    .attr('class', 'examples')
    .attr('data-testid', 'examples');
  details.append('summary').attr('class', 'btn').attr('data-testid', 'examples-button').text('Examples');
  const menu = details.append('div').attr('class', 'examples-menu').attr('role', 'menu').attr('data-testid', 'examples-menu');

  function pick(t: TaskExamples, ex: Example) {
    const s = store.get();
    const ckpt = checkpointForTask(s.checkpoints, t.task, s.ckpt);
    // the example opens the view its "look" line talks about (kind, layer, head), not the current one
    const view = { ...ex.view, agg: 'none' as const, diff: null, hover: null };
    store.set(ckpt ? { text: ex.text, ckpt, ...view } : { text: ex.text, ...view });
    (details.node() as HTMLDetailsElement).open = false;
  }

  function render(s: AppState) {
    const groups = menu
      .selectAll<HTMLDivElement, TaskExamples>('div.examples-task')
      .data(GALLERY, (d) => d.task)
      .join((enter) => {
        const g = enter.append('div').attr('class', 'examples-task');
        g.append('div').attr('class', 'examples-title');
        return g;
      })
      .attr('data-task', (d) => d.task);
    groups.select('.examples-title').text((d) => {
      const has = checkpointForTask(s.checkpoints, d.task, '') !== null;
      return has || !s.checkpoints ? d.title : `${d.title} (no ${d.task} run on this server: train one in the Train tab)`;
    });
    groups
      .selectAll<HTMLButtonElement, Example>('button')
      .data(
        (d) => d.examples,
        (d) => d.text,
      )
      .join((enter) => {
        const b = enter.append('button').attr('class', 'example').attr('role', 'menuitem');
        b.append('span').attr('class', 'example-text');
        b.append('span').attr('class', 'example-look');
        b.append('span').attr('class', 'example-view');
        return b;
      })
      .attr('data-testid', function (d) {
        const t = d3.select(this.parentElement as HTMLElement).datum() as TaskExamples;
        return `example-${t.task}-${d.text.replace(/[^a-z0-9]+/g, '_')}`;
      })
      // an example of a task with no run here is not loaded into another task's model (a copy
      // model's diagonal would contradict its "look" line): it says what to train instead
      .property('disabled', function () {
        const t = d3.select(this.parentElement as HTMLElement).datum() as TaskExamples;
        return !!s.checkpoints && checkpointForTask(s.checkpoints, t.task, '') === null;
      })
      .attr('title', function () {
        const t = d3.select(this.parentElement as HTMLElement).datum() as TaskExamples;
        return s.checkpoints && checkpointForTask(s.checkpoints, t.task, '') === null ? `No ${t.task} run on this server: train one in the Train tab first` : null;
      })
      .on('click', function (_e, d) {
        pick(d3.select(this.parentElement as HTMLElement).datum() as TaskExamples, d);
      })
      .call((b) => b.select('.example-text').text((d) => d.text))
      .call((b) => b.select('.example-look').text((d) => d.look))
      .call((b) => b.select('.example-view').text((d) => `opens ${KIND_SHORT[d.view.kind]} · L${d.view.layer}·H${d.view.head}`));
  }

  // close on outside click and on Escape
  document.addEventListener('pointerdown', (e) => {
    const el = details.node() as HTMLDetailsElement;
    if (el.open && !el.contains(e.target as Node)) el.open = false;
  });
  details.on('keydown', (e: KeyboardEvent) => {
    const el = details.node() as HTMLDetailsElement;
    if (!el.open) return;
    if (e.key === 'Escape') {
      el.open = false;
      (el.querySelector('summary') as HTMLElement).focus();
      // this Escape closed the menu; it must not also leave presenter mode (main.ts)
      e.preventDefault();
      return;
    }
    // a menu moves with the arrow keys (Home / End to its ends), over the examples it can load
    const items = [...menu.node()!.querySelectorAll<HTMLButtonElement>('button.example:not(:disabled)')];
    if (!items.length) return;
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    const next =
      e.key === 'ArrowDown' ? (at + 1) % items.length
      : e.key === 'ArrowUp' ? (at <= 0 ? items.length - 1 : at - 1)
      : e.key === 'Home' ? 0
      : e.key === 'End' ? items.length - 1
      : null;
    if (next === null) return;
    e.preventDefault(); // not also a scroll, a head or a layer step (main.ts)
    e.stopPropagation();
    items[next]!.focus();
  });

  store.subscribe((s, p) => {
    if (s.checkpoints !== p.checkpoints) render(s);
  });
  render(store.get());
}

export const spec: ViewSpec = { id: 'examples-menu', place: { in: 'input-bar' }, create: createExamplesMenu };
