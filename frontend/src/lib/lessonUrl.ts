/**
 * `?lesson=<id>&step=<n>` names a lesson step, but `step` is also the decoding view's step. While
 * a lesson is open the URL's `step` is the lesson's (state field `lstep`) and the decoding step
 * moves to `dstep`; without a lesson nothing changes, so older links keep their meaning.
 */

function swap(search: string, from: [string, string], to: [string, string]): string {
  const sp = new URLSearchParams(search);
  if (!sp.has('lesson')) return search;
  const a = sp.get(from[0]);
  const b = sp.get(from[1]);
  sp.delete(from[0]);
  sp.delete(from[1]);
  if (a !== null) sp.set(to[0], a);
  if (b !== null) sp.set(to[1], b);
  const s = sp.toString();
  return s ? `?${s}` : '';
}

/** The page's query string → the one URL_SPECS parses (`step` → `lstep`, `dstep` → `step`). */
export function lessonSearchIn(search: string): string {
  return swap(search, ['step', 'dstep'], ['lstep', 'step']);
}

/** A query string URL_SPECS formatted → the page's (`lstep` → `step`, `step` → `dstep`). */
export function lessonSearchOut(search: string): string {
  return swap(search, ['lstep', 'step'], ['step', 'dstep']);
}
