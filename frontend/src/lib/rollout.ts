/**
 * Aggregates over heads and layers of one [L, H, nq, nk] stack.
 *
 * - layer mean: M_l = (1/H) Σ_h A_{l,h};
 * - attention rollout (Abnar & Zuidema 2020), square self-attention only (encoder):
 *   Ã_l = rownorm(0.5·M_l + 0.5·I)  (the residual connection as an identity half),
 *   R_0 = Ã_0, R_l = Ã_l · R_{l−1}; R_l[i, j] = how much input token j flows into position i after
 *   layer l. Computed in float64, stored as float32.
 */

/** [L, nq, nk] layer means, cell by cell over the heads (in head order): one pass and no
 * accumulator array, which matters cold, in the first task of a saved page. */
export function layerMeans(data: Float32Array, layers: number, heads: number, nq: number, nk: number): Float32Array {
  const size = nq * nk;
  const out = new Float32Array(layers * size);
  for (let l = 0; l < layers; l++) {
    const base = l * heads * size;
    for (let i = 0; i < size; i++) {
      let s = 0;
      for (let h = 0, o = base + i; h < heads; h++, o += size) s += data[o]!;
      out[l * size + i] = s / heads;
    }
  }
  return out;
}

/** [L, n, n] rollout through layers 0..l, from [L, n, n] layer means. */
export function rolloutFromMeans(means: Float32Array, layers: number, n: number): Float32Array {
  return drain(rolloutSteps(means, layers, n));
}

/** Run a step generator to its end (synchronously) and return its result. */
export function drain<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The rollout as a generator that yields after every row of every matrix product (n² multiply-adds),
 * so a caller can spread the 6 × 512³ work over many short tasks and keep the page responsive
 * (`drain` runs it in one go).
 */
export function* rolloutSteps(means: Float32Array, layers: number, n: number): Generator<void, Float32Array> {
  const size = n * n;
  const out = new Float32Array(layers * size);
  const a = new Float64Array(size);
  let prev: Float64Array | null = null;
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) {
        const v = 0.5 * means[l * size + i * n + j]! + (i === j ? 0.5 : 0);
        a[i * n + j] = v;
        s += v;
      }
      const inv = s > 0 ? 1 / s : 0;
      for (let j = 0; j < n; j++) a[i * n + j]! *= inv;
    }
    let r: Float64Array;
    if (!prev) r = a.slice();
    else {
      // r = a · prev, i-k-j loop order (row-major friendly)
      r = new Float64Array(size);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < n; k++) {
          const aik = a[i * n + k]!;
          if (aik === 0) continue;
          const pk = k * n;
          const ri = i * n;
          for (let j = 0; j < n; j++) r[ri + j]! += aik * prev[pk + j]!;
        }
        yield;
      }
    }
    for (let i = 0; i < size; i++) out[l * size + i] = r[i]!;
    prev = r;
    yield;
  }
  return out;
}

export function attentionRollout(data: Float32Array, layers: number, heads: number, n: number): Float32Array {
  return rolloutFromMeans(layerMeans(data, layers, heads, n, n), layers, n);
}
