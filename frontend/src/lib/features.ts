/**
 * What the selected model can do, from the checkpoint listing (`supports`, docs/api.md "Families"):
 * the page offers a feature only where it is listed, and says why elsewhere. Older
 * servers send no `supports`: a toy checkpoint does everything, a Hugging Face one attention and
 * special tokens only.
 */
import type { CheckpointInfo, CheckpointsResponse, Feature, ModelFamily } from '../api/types';

export const ALL_FEATURES: readonly Feature[] = ['attention', 'generate', 'steps', 'math', 'ablate', 'timeline', 'special_tokens'];

export function supportedFeatures(info: CheckpointInfo | null | undefined): ReadonlySet<Feature> {
  if (!info) return new Set();
  if (info.supports) return new Set(info.supports);
  return new Set(info.kind === 'huggingface' ? ['attention', 'special_tokens'] : ALL_FEATURES);
}

const FAMILY: Record<ModelFamily, string> = {
  toy: 'this checkpoint',
  'toy-decoder': 'this decoder-only checkpoint',
  encoder: 'a pretrained encoder',
  decoder: 'a pretrained decoder-only model',
  'encoder-decoder': 'a pretrained encoder-decoder',
};

const WHAT: Record<Feature, string> = {
  attention: 'Attention',
  generate: 'Generating text',
  steps: 'Decoding steps',
  math: 'The math step-through',
  ablate: 'Switching heads off',
  timeline: 'Attention over training',
  special_tokens: 'Hiding special tokens',
};

/** Why `feature` is not offered for `info` (shown as the disabled control's tooltip / note). */
export function unsupportedReason(info: CheckpointInfo | null | undefined, feature: Feature): string {
  const family = info?.family ?? (info?.kind === 'huggingface' ? 'encoder' : 'toy');
  const tail: Partial<Record<Feature, string>> = {
    timeline: 'it has no training epochs to compare',
    steps: 'it does not decode step by step',
    ablate: 'the server cannot switch its heads off',
    math: 'the server cannot take its heads apart',
  };
  return `${WHAT[feature]} is not available for ${FAMILY[family]}${tail[feature] ? `: ${tail[feature]}` : ''}.`;
}

/** The listing's entry for checkpoint `name`, or null (a file's document, an unknown name). */
export function checkpointInfo(list: CheckpointsResponse | null, name: string): CheckpointInfo | null {
  for (const r of list?.runs ?? []) for (const c of r.checkpoints) if (c.name === name) return c;
  // a snapshot (`run/snapshots/step40.pt`, stepped through in the timeline) is not listed on its
  // own: it is its run's model between two epochs, so the run's last checkpoint speaks for it
  const snap = /^(.+)\/snapshots\/[^/]+\.pt$/.exec(name);
  const run = snap ? list?.runs.find((r) => r.name === snap[1]) : undefined;
  return run?.checkpoints[run.checkpoints.length - 1] ?? null;
}

/**
 * Is `feature` offered for what is shown? null = yes; else the reason. A document opened from a
 * file has no server model behind it unless its checkpoint is listed: server features need one.
 */
export function featureBlock(
  list: CheckpointsResponse | null,
  ckpt: string,
  feature: Feature,
  fromFile = false,
  singleFile = false,
): string | null {
  const info = checkpointInfo(list, ckpt);
  const fromDoc = feature === 'special_tokens' || feature === 'steps';
  // a file's document is shown as it is: what needs the model run again needs the server's copy
  if (fromFile && !fromDoc) return `${WHAT[feature]} needs the model on the server; this document was opened from a file.`;
  if (!info) {
    if (fromDoc) return null; // the document itself says
    // a single-file page (save_html, `attnviz html`) has only what it embeds
    if (singleFile) return `${WHAT[feature]} needs the attnviz server: this file carries only its document.`;
    return `${WHAT[feature]} needs a checkpoint from the list.`;
  }
  return supportedFeatures(info).has(feature) ? null : unsupportedReason(info, feature);
}
