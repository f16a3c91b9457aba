/**
 * The elements the linked hover lights, updated by difference: a hover over a 512-token document
 * touches the few labels that change instead of a pass over every label (1 024 per view), which
 * kept hover → all views updated above a frame.
 */
export function createLitSet(cls = 'lit') {
  let lit: Element[] = [];
  return {
    /** Light exactly `els` (null / undefined entries are skipped). */
    set(els: readonly (Element | null | undefined)[]) {
      const next = els.filter((e): e is Element => !!e);
      for (const e of lit) if (!next.includes(e)) e.classList.remove(cls);
      // add even when it was lit: a render may have rewritten the class attribute
      for (const e of next) e.classList.add(cls);
      lit = next;
    },
  };
}
