/**
 * The example gallery: per task, a few inputs chosen to show something, each with a one-line
 * "what to look for"; and which checkpoint an example loads (the task's run, if the server has one).
 */
import type { AttentionKind, CheckpointInfo, CheckpointsResponse, RunInfo, TrainTask } from '../api/types';

/** The view an example opens: the attention kind, layer and head its "look" line talks about. */
export interface ExampleView {
  kind: AttentionKind;
  layer: number;
  head: number;
}

export interface Example {
  text: string;
  /** one line: what to look for once it is drawn */
  look: string;
  view: ExampleView;
}

const CROSS_L1: ExampleView = { kind: 'cross', layer: 1, head: 0 };
// the tasks trained from the page: their runs may have one layer
const CROSS_L0: ExampleView = { kind: 'cross', layer: 0, head: 0 };

export interface TaskExamples {
  /** one of the server's tasks (the API schema's list) */
  task: TrainTask;
  /** what the task is, in a few words */
  title: string;
  examples: Example[];
}

/** Only characters every demo vocabulary has (lower-case letters, digits, space, a few marks). */
export const GALLERY: TaskExamples[] = [
  {
    task: 'copy',
    title: 'copy — write the input again',
    examples: [
      { text: 'hello', look: 'Cross-attention, layer 1: a bright diagonal — each row looks at the letter it is about to write.', view: CROSS_L1 },
      { text: 'balloon', look: 'Twin letters (ll, oo): each row still finds its own copy — the model tracks positions, not just letters.', view: CROSS_L1 },
      { text: 'abcdefghij', look: 'A longer input: the diagonal just keeps going.', view: CROSS_L1 },
    ],
  },
  {
    task: 'reverse',
    title: 'reverse — write it backwards',
    examples: [
      { text: 'stressed', look: 'Cross-attention, layer 1: the anti-diagonal — the first output reads the last input letter.', view: CROSS_L1 },
      { text: 'racecar', look: 'A palindrome: output = input, yet the attention is still the anti-diagonal.', view: CROSS_L1 },
      { text: 'abc123', look: 'Digits are just characters: the same anti-diagonal.', view: CROSS_L1 },
    ],
  },
  {
    task: 'sort',
    title: 'sort — characters in alphabetical order',
    examples: [
      { text: 'sorting', look: 'Each output letter looks up where that letter sits in the input: a shuffled pattern, not a line.', view: CROSS_L1 },
      { text: 'banana', look: 'Ties: each output a spreads its attention over all three a’s — for sorting, which copy does not matter.', view: CROSS_L1 },
      { text: 'mississippi', look: 'Many repeats: count the i’s and s’s in the output. Counting is where this small model slips.', view: CROSS_L1 },
    ],
  },
  {
    task: 'shift',
    title: 'shift — each output is the input two places back',
    examples: [
      { text: 'look back', look: 'Cross-attention: the diagonal moved two keys to the left; the first two rows (the “-” filler) have no source.', view: CROSS_L0 },
      { text: 'abcdefgh', look: 'A relative-position head: every row looks exactly two positions behind itself.', view: CROSS_L0 },
      { text: 'aaaa', look: 'All letters equal: only position can say which one to read, and the offset line stays sharp.', view: CROSS_L0 },
    ],
  },
  {
    task: 'swap',
    title: 'swap — adjacent letters trade places',
    examples: [
      { text: 'abcdef', look: 'Cross-attention: a zig-zag along the diagonal — row 0 reads key 1, row 1 reads key 0, and so on in pairs.', view: CROSS_L0 },
      { text: 'hello', look: 'An odd length: the last letter has no partner, so its row looks straight down at itself.', view: CROSS_L0 },
      { text: 'aabb', look: 'Swapping equal letters changes nothing in the output, yet each row still looks at its partner.', view: CROSS_L0 },
    ],
  },
];

export function findRun(list: CheckpointsResponse | null, name: string): RunInfo | null {
  return list?.runs.find((r) => r.name === name) ?? null;
}

function lastUsable(run: RunInfo | null | undefined): CheckpointInfo | null {
  const usable = run?.checkpoints.filter((c) => c.usable) ?? [];
  return usable[usable.length - 1] ?? null;
}

/**
 * The checkpoint an example of `task` runs on: the current one if it is already that task's;
 * else the last usable epoch of the run named after the task (the demo run), else of any run
 * trained on the task (e.g. `local/...`); null if the server has none.
 */
export function checkpointForTask(list: CheckpointsResponse | null, task: string, current: string): string | null {
  const runs = list?.runs ?? [];
  for (const r of runs) for (const c of r.checkpoints) if (c.name === current && c.usable && (c.task ?? r.task) === task) return current;
  const named = lastUsable(runs.find((r) => r.name === task));
  if (named) return named.name;
  for (const r of runs) {
    if (r.task !== task) continue;
    const c = lastUsable(r);
    if (c) return c.name;
  }
  return null;
}

/**
 * A URL may name a run instead of a file (`?ckpt=copy`): that means its last usable epoch, so a
 * lesson link keeps working when the demo runs are retrained for more epochs. Returns the
 * checkpoint name to use, or null when `name` is not a run (or already a checkpoint).
 */
export function resolveRunAlias(list: CheckpointsResponse | null, name: string): string | null {
  if (!name || !list) return null;
  for (const r of list.runs) for (const c of r.checkpoints) if (c.name === name) return null;
  return lastUsable(findRun(list, name))?.name ?? null;
}
