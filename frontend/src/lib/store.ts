/** The one store: get / set / subscribe. Listeners run synchronously, in subscription order. */

export type Listener<S> = (state: S, prev: S) => void;

export interface Store<S> {
  get(): S;
  set(patch: Partial<S> | ((s: S) => Partial<S>)): void;
  subscribe(fn: Listener<S>): () => void;
}

export function createStore<S extends object>(initial: S): Store<S> {
  let state = initial;
  const listeners = new Set<Listener<S>>();
  return {
    get: () => state,
    set(patch) {
      const p = typeof patch === 'function' ? patch(state) : patch;
      let changed = false;
      for (const k in p) {
        if (!Object.is((p as S)[k], state[k])) {
          changed = true;
          break;
        }
      }
      if (!changed) return;
      const prev = state;
      state = { ...state, ...p };
      for (const fn of [...listeners]) fn(state, prev);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

/** Call `fn` only when one of `keys` changed (by identity). */
export function watch<S extends object, K extends keyof S>(store: Store<S>, keys: readonly K[], fn: Listener<S>): () => void {
  return store.subscribe((s, p) => {
    if (keys.some((k) => !Object.is(s[k], p[k]))) fn(s, p);
  });
}
