/**
 * URL ⇄ state, declaratively. Each URL parameter is one ParamSpec; a later feature (presenter
 * mode, gallery, timeline, math step-through…) adds one line to the spec table in state.ts.
 * Values equal to their default are left out of the URL; parameters this build does not know
 * are preserved, so a newer link opened in an older build loses nothing.
 */

export interface ParamSpec<T> {
  default: T;
  /** undefined = invalid → default */
  parse(raw: string): T | undefined;
  format(v: T): string;
  equals?(a: T, b: T): boolean;
}

export type Specs<S> = { [K in keyof S]: ParamSpec<S[K]> };

export const param = {
  string(def = ''): ParamSpec<string> {
    return { default: def, parse: (r) => r, format: (v) => v };
  },
  int(def = 0, min = 0, max = Number.MAX_SAFE_INTEGER): ParamSpec<number> {
    return {
      default: def,
      parse: (r) => (/^-?\d+$/.test(r) && +r >= min && +r <= max ? +r : undefined),
      format: (v) => String(v),
    };
  },
  float(def: number, min = -Infinity, max = Infinity): ParamSpec<number> {
    return {
      default: def,
      parse: (r) => {
        const v = Number(r);
        return r.trim() !== '' && Number.isFinite(v) && v >= min && v <= max ? v : undefined;
      },
      format: (v) => String(+v.toFixed(4)),
    };
  },
  bool(def = false): ParamSpec<boolean> {
    return {
      default: def,
      parse: (r) => (['1', 'true', 'yes', ''].includes(r) ? true : ['0', 'false', 'no'].includes(r) ? false : undefined),
      format: (v) => (v ? '1' : '0'),
    };
  },
  oneOf<T extends string>(values: readonly T[], def: T): ParamSpec<T> {
    return { default: def, parse: (r) => (values as readonly string[]).includes(r) ? (r as T) : undefined, format: (v) => v };
  },
  /** "12-40" ⇄ [12, 40] (a half-open range of positions); null = the whole axis (absent). */
  range(): ParamSpec<[number, number] | null> {
    return {
      default: null,
      parse: (r) => {
        const m = /^(\d+)-(\d+)$/.exec(r);
        return m && +m[2]! > +m[1]! ? [+m[1]!, +m[2]!] : undefined;
      },
      format: (v) => (v ? `${v[0]}-${v[1]}` : ''),
      equals: (a, b) => (a === null || b === null ? a === b : a[0] === b[0] && a[1] === b[1]),
    };
  },
  /** "0,2,5" ⇄ [0, 2, 5]; null = "all" (absent). */
  intList(): ParamSpec<number[] | null> {
    return {
      default: null,
      parse: (r) => {
        if (r === '') return [];
        const parts = r.split(',');
        if (!parts.every((p) => /^\d+$/.test(p))) return undefined;
        return [...new Set(parts.map(Number))].sort((a, b) => a - b);
      },
      format: (v) => (v ?? []).join(','),
      equals: (a, b) => (a === null || b === null ? a === b : a.length === b.length && a.every((x, i) => x === b[i])),
    };
  },
};

function same<T>(spec: ParamSpec<T>, a: T, b: T): boolean {
  return spec.equals ? spec.equals(a, b) : Object.is(a, b);
}

/** Parse a query string into a full state (defaults where absent or invalid). */
export function parseParams<S>(specs: Specs<S>, search: string): S {
  const sp = new URLSearchParams(search);
  const out = {} as S;
  for (const key of Object.keys(specs) as (keyof S & string)[]) {
    const spec = specs[key];
    const raw = sp.get(key);
    const v = raw === null ? undefined : spec.parse(raw);
    out[key] = v === undefined ? spec.default : v;
  }
  return out;
}

/** Format state as a query string ("" or "?a=b…"); unknown params of `previous` are kept. */
export function formatParams<S>(specs: Specs<S>, state: S, previous = ''): string {
  const prev = new URLSearchParams(previous);
  const sp = new URLSearchParams();
  for (const key of Object.keys(specs) as (keyof S & string)[]) {
    const spec = specs[key];
    const v = state[key];
    if (!same(spec, v, spec.default)) sp.set(key, spec.format(v));
  }
  prev.forEach((v, k) => {
    if (!(k in specs)) sp.set(k, v);
  });
  const s = sp.toString();
  return s ? `?${s}` : '';
}

/** Did any URL-mirrored field change between two states? */
export function paramsChanged<S>(specs: Specs<S>, a: S, b: S): boolean {
  return (Object.keys(specs) as (keyof S & string)[]).some((k) => !same(specs[k], a[k], b[k]));
}
