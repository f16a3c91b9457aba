import { describe, expect, it } from 'vitest';

// every module's source (tests and declarations aside), keyed './lib/doc.ts' and so on
const sources = import.meta.glob<string>(['./**/*.ts', '!./**/*.test.ts', '!./**/*.d.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
});

/** The modules a file imports at run time (`import type` and `export type` are erased). */
function runtimeImports(file: string, source: string): string[] {
  const out: string[] = [];
  const pattern = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"](\.[^'"]+)['"]/gm;
  for (const m of source.matchAll(pattern)) {
    if (m[2]) continue;
    const parts = file.split('/').slice(0, -1);
    for (const piece of m[3]!.split('/')) {
      if (piece === '..') parts.pop();
      else if (piece !== '.') parts.push(piece);
    }
    const path = parts.join('/');
    const target = [`${path}.ts`, `${path}/index.ts`, path].find((p) => p in sources);
    if (target) out.push(target);
  }
  return out;
}

/** Each import cycle once, as the files around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push(stack.slice(stack.indexOf(next)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('module graph', () => {
  const graph = new Map(Object.entries(sources).map(([file, source]) => [file, runtimeImports(file, source)]));

  it('reads the modules and their imports', () => {
    expect(graph.get('./lib/doc.ts')).toContain('./lib/documentError.ts');
    expect(graph.size).toBeGreaterThan(50);
  });

  it('has no import cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle where there is one', () => {
    const made = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(cycles(made)).toEqual([['a', 'b', 'c']]);
  });

  it('has no cycle between folders either (the entry files main.ts and insight.ts are the root)', () => {
    const folder = (file: string) => (file.split('/').length > 2 ? file.split('/')[1]! : '(root)');
    const folders = new Map<string, string[]>();
    for (const [file, deps] of graph) {
      const from = folder(file);
      const to = deps.map(folder).filter((f) => f !== from);
      folders.set(from, [...new Set([...(folders.get(from) ?? []), ...to])]);
    }
    expect(folders.get('views')).toContain('app');
    expect(cycles(folders)).toEqual([]);
  });

  it('keeps the performance tricks (perf/: skeleton, warm-up) out of every view and lib module', () => {
    expect(graph.get('./main.ts')).toContain('./perf/index.ts');
    const reach = [...graph].filter(([file, deps]) => /^\.\/(views|lib)\//.test(file) && deps.some((d) => d.startsWith('./perf/')));
    expect(reach).toEqual([]);
  });

  it('keeps lib/ free of the views, the store and the server module', () => {
    const upward = [...graph].filter(([file, deps]) => file.startsWith('./lib/') && deps.some((d) => !d.startsWith('./lib/') && !d.startsWith('./api/')));
    expect(upward).toEqual([]);
  });
});
