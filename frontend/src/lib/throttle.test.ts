import { describe, expect, it } from 'vitest';
import { createThrottle, type Clock } from './throttle';

function fakeClock() {
  let t = 0;
  let queue: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  const clock: Clock = {
    now: () => t,
    setTimeout: (fn, ms) => {
      const id = ++ids;
      queue.push({ at: t + ms, fn, id });
      return id;
    },
    clearTimeout: (h) => {
      queue = queue.filter((q) => q.id !== h);
    },
  };
  const advance = (ms: number) => {
    t += ms;
    for (const q of queue.filter((q) => q.at <= t)) {
      queue = queue.filter((x) => x !== q);
      q.fn();
    }
  };
  return { clock, advance };
}

describe('createThrottle', () => {
  it('is idle only when a request would run at once', () => {
    const { clock, advance } = fakeClock();
    const th = createThrottle(() => {}, 100, clock);
    expect(th.idle()).toBe(true);
    th.request(); // runs now: the window starts
    expect(th.idle()).toBe(false);
    th.request(); // waits for the window's end
    expect(th.pending()).toBe(true);
    advance(100); // the trailing run: a new window
    expect(th.pending()).toBe(false);
    expect(th.idle()).toBe(false);
    advance(99);
    expect(th.idle()).toBe(false);
    advance(1);
    expect(th.idle()).toBe(true);
  });

  it('runs at once when idle, then once at the end of the window with the latest state', () => {
    const { clock, advance } = fakeClock();
    let state = 0;
    const seen: number[] = [];
    const th = createThrottle(() => seen.push(state), 100, clock);
    state = 1;
    th.request();
    expect(seen).toEqual([1]); // leading edge
    for (let i = 2; i <= 6; i++) {
      advance(16);
      state = i;
      th.request();
    }
    expect(seen).toEqual([1]);
    expect(th.pending()).toBe(true);
    advance(20); // t = 100: the window ends
    expect(seen).toEqual([1, 6]);
    expect(th.pending()).toBe(false);
    advance(500);
    state = 7;
    th.request();
    expect(seen).toEqual([1, 6, 7]); // idle again: at once
  });

  it('flush runs a pending request now, and nothing when none is pending', () => {
    const { clock, advance } = fakeClock();
    let n = 0;
    const th = createThrottle(() => n++, 100, clock);
    th.request();
    th.flush();
    expect(n).toBe(1);
    advance(10);
    th.request();
    expect(n).toBe(1);
    th.flush();
    expect(n).toBe(2);
    advance(1000);
    expect(n).toBe(2); // the cancelled timer does not run again
  });
});
