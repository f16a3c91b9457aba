/**
 * Run an action at most once per window: at once when none ran within the last `ms` (leading
 * edge), otherwise once when the window ends (trailing edge). The action reads the state itself
 * when it runs, so the trailing run sees the latest state.
 *
 * The page mirrors its state to the URL through this: `history.replaceState` costs a few ms in
 * Chromium (more with a 512-token text in the URL) and Chromium throttles pages that call it
 * hundreds of times in a few seconds, while scrubbing the timeline or dragging a slider changes
 * the state every frame.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface Throttle {
  /** Ask for a run: now, or at the end of the current window. */
  request(): void;
  /** Run a pending request now (page hide, tests). */
  flush(): void;
  /** Is a trailing run pending? */
  pending(): boolean;
  /** Would a request run at once (no run pending, none within the last window)? */
  idle(): boolean;
}

export function createThrottle(action: () => void, ms: number, clock: Clock = realClock): Throttle {
  let last = -Infinity;
  let timer: unknown = null;
  const run = () => {
    timer = null;
    last = clock.now();
    action();
  };
  return {
    request() {
      if (timer !== null) return;
      const wait = last + ms - clock.now();
      if (wait <= 0) run();
      else timer = clock.setTimeout(run, wait);
    },
    flush() {
      if (timer === null) return;
      clock.clearTimeout(timer);
      run();
    },
    pending: () => timer !== null,
    idle: () => timer === null && clock.now() - last >= ms,
  };
}
