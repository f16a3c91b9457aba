/**
 * Head statistics table: one row per head of the current kind, one column per statistic
 * (lib/stats.ts defines them). Click a column header to sort (again to reverse), a row to focus the
 * head. Values carry a small data bar; the focused head's row is highlighted.
 */
import * as d3 from 'd3';
import { noAlignmentReason } from '../lib/alignment';
import { KIND_LABEL, keySide } from '../lib/doc';
import type { AttentionSource } from '../lib/source';
import type { Store } from '../lib/store';
import { compareStat, SPECIAL_KEYS, statDefs, statValue, type HeadStats, type StatDef, type StatKey } from '../lib/stats';
import type { AppState } from '../app/state';
import { currentAny as current, timed } from './common';
import { countRender } from '../app/testHook';
import { formatStat } from './insightCommon';
import type { ViewSpec } from './spec';

interface Row {
  layer: number;
  head: number;
  stats: HeadStats;
}

type Col = { key: 'layer' | 'head'; label: string; title: string } | StatDef;

/** Parse the `sort` URL value: "-entropy" → {key: 'entropy', desc: true}. */
export function parseSort(raw: string): { key: string; desc: boolean } {
  if (!raw) return { key: 'layer', desc: false };
  return raw.startsWith('-') ? { key: raw.slice(1), desc: true } : { key: raw, desc: false };
}

/** The table's head: one sort button per column, marked when it is the sort key. */
function drawHeader(thead: d3.Selection<HTMLTableRowElement, unknown, null, undefined>, cols: Col[], sort: { key: string; desc: boolean }, store: Store<AppState>) {
  thead
    .selectAll<HTMLTableCellElement, Col>('th')
    .data(cols, (c) => c.key)
    .join((enter) => {
      const th = enter.append('th').attr('scope', 'col');
      th.append('button').attr('class', 'th-btn');
      return th;
    })
    .attr('class', (c) => (c.key === 'layer' || c.key === 'head' ? 'id' : 'num'))
    .attr('aria-sort', (c) => (c.key === sort.key ? (sort.desc ? 'descending' : 'ascending') : 'none'))
    .order()
    .select('button')
    .attr('data-testid', (c) => `stats-col-${c.key}`)
    .attr('title', (c) => `${c.title} — click to sort`)
    .classed('sorted', (c) => c.key === sort.key)
    .html('')
    .each(function (c) {
      const b = d3.select(this);
      b.append('span').text(c.label);
      b.append('span')
        .attr('class', 'arrow')
        .text(c.key === sort.key ? (sort.desc ? '▼' : '▲') : '');
    })
    .on('click', (_e, c) => {
      const cur2 = parseSort(store.get().sort);
      // first click: statistics descending (largest first), layer / head ascending; next click reverses
      const desc = cur2.key === c.key ? !cur2.desc : c.key !== 'layer' && c.key !== 'head';
      const next = c.key === 'layer' && !desc ? '' : `${desc ? '-' : ''}${c.key}`;
      store.set({ sort: next });
    });
}

const cellValue = (r: Row, key: string) => (key === 'layer' ? r.layer : key === 'head' ? r.head : statValue(r.stats, key as StatKey));

/** One row per head, sorted by `sort` (an unknown key sorts by layer), ties by layer and head. */
function sortedRows(src: AttentionSource, offset: number, cols: Col[], sort: { key: string; desc: boolean }): { rows: Row[]; key: string } {
  const stats = src.stats(offset);
  const rows: Row[] = [];
  for (let l = 0; l < src.layers; l++) for (let h = 0; h < src.heads; h++) rows.push({ layer: l, head: h, stats: stats[l * src.heads + h]! });
  const known = cols.some((c) => c.key === sort.key);
  const key = known ? sort.key : 'layer';
  rows.sort((a, b) => compareStat(cellValue(a, key), cellValue(b, key), known && sort.desc) || a.layer - b.layer || a.head - b.head);
  return { rows, key };
}

/** The table's body: a row per head (click or Enter focuses it), each value with its data bar. */
function drawBody(tbody: d3.Selection<HTMLTableSectionElement, unknown, null, undefined>, rows: Row[], cols: Col[], key: string, store: Store<AppState>) {
  const statCols = cols.filter((c): c is StatDef => c.key !== 'layer' && c.key !== 'head');
  const max = new Map(statCols.map((c) => [c.key, c.unit ? 1 : Math.max(1e-9, ...rows.map((r) => cellValue(r, c.key)).filter(Number.isFinite))]));
  tbody
    .selectAll<HTMLTableRowElement, Row>('tr')
    .data(rows, (r) => `${r.layer}-${r.head}`)
    .join((enter) =>
      enter
        .append('tr')
        .attr('tabindex', -1)
        .on('click', (_e, r) => store.set({ layer: r.layer, head: r.head, agg: 'none' }))
        .on('keydown', (e: KeyboardEvent, r) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            store.set({ layer: r.layer, head: r.head, agg: 'none' });
          }
        }),
    )
    .attr('data-testid', (r) => `stats-row-${r.layer}-${r.head}`)
    .order()
    .selectAll<HTMLTableCellElement, { c: Col; r: Row }>('td')
    .data((r) => cols.map((c) => ({ c, r })), (d) => d.c.key)
    .join('td')
    .attr('class', (d) => (d.c.key === 'layer' || d.c.key === 'head' ? 'id' : 'num'))
    .classed('sorted', (d) => d.c.key === key)
    .style('--bar', (d) => {
      if (d.c.key === 'layer' || d.c.key === 'head') return null;
      const v = cellValue(d.r, d.c.key);
      return Number.isFinite(v) ? `${Math.max(0, Math.min(1, v / max.get(d.c.key)!)) * 100}%` : '0%';
    })
    .text((d) => (d.c.key === 'layer' || d.c.key === 'head' ? String(cellValue(d.r, d.c.key)) : formatStat(cellValue(d.r, d.c.key), d.c.key)));
}

export function createStatsTable(container: HTMLElement, store: Store<AppState>) {
  const root = d3.select(container).classed('panel stats-panel', true).attr('data-view', 'stats').attr('data-testid', 'stats-table');
  const head = root.append('header').attr('class', 'panel-head stats-head');
  const title = head.append('h2').text('Head statistics');
  const ctl = head.append('div').attr('class', 'stats-controls');
  const offLab = ctl.append('label').attr('class', 'stats-offset').attr('title', 'k of the offset line (i, i + k): −1 = previous token, +1 = next token');
  offLab.append('span').text('offset k');
  const offInput = offLab
    .append('input')
    .attr('type', 'number')
    .attr('min', -9)
    .attr('max', 9)
    .attr('step', 1)
    .attr('data-testid', 'stats-offset')
    .on('change', function () {
      const v = Math.round(Number((this as HTMLInputElement).value));
      if (Number.isFinite(v) && v >= -64 && v <= 64) store.set({ offset: v });
      else (this as HTMLInputElement).value = String(store.get().offset);
    });
  const note = head.append('p').attr('class', 'hint stats-note');
  const body = root.append('div').attr('class', 'panel-body stats-body');
  const table = body.append('table').attr('class', 'stats');
  const thead = table.append('thead').append('tr');
  const tbody = table.append('tbody');

  function render() {
    timed('stats', renderNow);
  }
  function renderNow() {
    countRender('stats');
    const s = store.get();
    const cur = current(s);
    offInput.property('value', String(s.offset));
    if (!cur) {
      thead.selectAll('*').remove();
      tbody.selectAll('*').remove();
      return;
    }
    const { src, kind, doc } = cur;
    const kTokens = keySide(kind) === 'src' ? doc.tokens.src : doc.tokens.tgt;
    const specials = SPECIAL_KEYS.filter((x) => kTokens.includes(x));
    const cols: Col[] = [
      { key: 'layer', label: 'L', title: 'Layer' },
      { key: 'head', label: 'H', title: 'Head' },
      ...statDefs(s.offset, specials),
    ];
    title.text(`Head statistics · ${KIND_LABEL[kind].replace(/ \(masked\)/, '')}`);
    const why = noAlignmentReason(doc, kind);
    note.text(`Means over query rows · entropy in nats${why ? ` · ${why}` : ''}`);
    const sort = parseSort(s.sort);
    drawHeader(thead, cols, sort, store);
    const { rows, key } = sortedRows(src, s.offset, cols, sort);
    drawBody(tbody, rows, cols, key, store);
    updateSelection();
  }

  function updateSelection() {
    const s = store.get();
    tbody
      .selectAll<HTMLTableRowElement, Row>('tr')
      .classed('selected', (r) => s.agg === 'none' && r.layer === s.layer && r.head === s.head)
      .attr('aria-selected', (r) => String(s.agg === 'none' && r.layer === s.layer && r.head === s.head));
  }

  store.subscribe((s, p) => {
    const visible = s.aside === 'stats';
    const becameVisible = visible && p.aside !== 'stats';
    if (visible && (becameVisible || s.doc !== p.doc || s.kind !== p.kind || s.offset !== p.offset || s.sort !== p.sort)) render();
    else if (visible && (s.layer !== p.layer || s.head !== p.head || s.agg !== p.agg)) updateSelection();
  });
  if (store.get().aside === 'stats') render();
  return { render };
}

// takes the arcs' place while `aside` is stats (src/insight.ts)
export const spec: ViewSpec = { id: 'stats-table', place: { slot: 'views', order: 4, tag: 'section', id: 'stats-table' }, url: ['sort', 'offset'], create: createStatsTable };
