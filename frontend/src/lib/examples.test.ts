import { describe, expect, it } from 'vitest';
import type { CheckpointInfo, CheckpointsResponse } from '../api/types';
import { checkpointForTask, GALLERY, resolveRunAlias } from './examples';

const ck = (run: string, epoch: number, task: NonNullable<CheckpointInfo['task']>, usable = true): CheckpointInfo => ({
  name: `${run}/ckpt_epoch${epoch}.pt`,
  run,
  epoch,
  usable,
  error: usable ? null : 'broken',
  task: usable ? task : null,
  created_at: null,
  metrics: null,
  config: null,
  max_text_len: 16,
  max_input_len: 16,
  characters: null,
});

const list: CheckpointsResponse = {
  checkpoint_dir: '/app/checkpoints',
  runs: [
    { name: 'copy', task: 'copy', checkpoints: [ck('copy', 1, 'copy'), ck('copy', 2, 'copy'), ck('copy', 3, 'copy')] },
    { name: 'local/mine', task: 'sort', checkpoints: [ck('local/mine', 1, 'sort'), ck('local/mine', 2, 'sort', false)] },
    { name: 'local/rev', task: 'reverse', checkpoints: [ck('local/rev', 4, 'reverse')] },
    { name: 'reverse', task: 'reverse', checkpoints: [ck('reverse', 5, 'reverse'), ck('reverse', 6, 'reverse')] },
  ],
};

describe('example gallery', () => {
  it('has copy, reverse and sort examples, each with a non-empty hint and demo-vocabulary text', () => {
    expect(GALLERY.map((t) => t.task)).toEqual(['copy', 'reverse', 'sort', 'shift', 'swap']);
    const vocab = new Set('abcdefghijklmnopqrstuvwxyz0123456789 .,!?\'-:;()');
    for (const t of GALLERY) {
      expect(t.examples.length).toBeGreaterThanOrEqual(2);
      for (const e of t.examples) {
        expect(e.look.length).toBeGreaterThan(10);
        expect([...e.text].every((c) => vocab.has(c))).toBe(true);
        expect(e.text.length).toBeLessThanOrEqual(16); // the demo runs train on 1-16 characters
      }
    }
    // what each task's gallery promises to show
    const texts = (task: string) => GALLERY.find((t) => t.task === task)!.examples.map((e) => e.text);
    expect(texts('copy').some((s) => /(.)\1/.test(s))).toBe(true); // a repeated letter
    expect(texts('reverse').some((s) => s.length > 2 && s === [...s].reverse().join(''))).toBe(true); // a palindrome
    expect(texts('sort').some((s) => new Set(s).size < s.length)).toBe(true); // ties
    expect(texts('swap').some((s) => s.length % 2 === 1)).toBe(true); // an odd last letter, kept in place
  });

  it('loads the task’s demo run, else any run of that task, keeping a current checkpoint of the task', () => {
    expect(checkpointForTask(list, 'copy', '')).toBe('copy/ckpt_epoch3.pt');
    expect(checkpointForTask(list, 'copy', 'copy/ckpt_epoch1.pt')).toBe('copy/ckpt_epoch1.pt');
    expect(checkpointForTask(list, 'copy', 'reverse/ckpt_epoch6.pt')).toBe('copy/ckpt_epoch3.pt');
    expect(checkpointForTask(list, 'reverse', 'copy/ckpt_epoch3.pt')).toBe('reverse/ckpt_epoch6.pt');
    expect(checkpointForTask(list, 'reverse', 'local/rev/ckpt_epoch4.pt')).toBe('local/rev/ckpt_epoch4.pt');
    expect(checkpointForTask(list, 'sort', '')).toBe('local/mine/ckpt_epoch1.pt'); // last *usable*
    expect(checkpointForTask({ ...list, runs: [] }, 'sort', '')).toBeNull();
    expect(checkpointForTask(null, 'copy', 'x')).toBeNull();
  });

  it('resolves a run name in ?ckpt= to its last usable epoch', () => {
    expect(resolveRunAlias(list, 'copy')).toBe('copy/ckpt_epoch3.pt');
    expect(resolveRunAlias(list, 'local/mine')).toBe('local/mine/ckpt_epoch1.pt');
    expect(resolveRunAlias(list, 'copy/ckpt_epoch2.pt')).toBeNull(); // already a checkpoint
    expect(resolveRunAlias(list, 'nope')).toBeNull();
    expect(resolveRunAlias(list, '')).toBeNull();
    expect(resolveRunAlias(null, 'copy')).toBeNull();
  });
});
