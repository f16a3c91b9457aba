/**
 * What the page says when something fails: a heading that names what failed (the text, the
 * checkpoint, the feature, the server, a file) and a sentence for a person, not the API's wording
 * for developers (which names endpoints).
 */

import type { ApiErrorCode } from '../api/types';

const TEXT_CODES: ReadonlySet<string> = new Set<ApiErrorCode>(['unknown_characters', 'empty_text', 'text_too_long']);
const CHECKPOINT_CODES: ReadonlySet<string> = new Set<ApiErrorCode>(['unknown_checkpoint', 'checkpoint_unusable', 'unknown_run', 'not_found']);

export function errorHeading(code: string): string {
  if (TEXT_CODES.has(code)) return 'Cannot run this text.';
  if (CHECKPOINT_CODES.has(code)) return 'Cannot use this checkpoint.';
  if (code === 'not_supported') return 'Not available for this model.';
  if (code === 'network') return 'Server unavailable.';
  if (code === 'file') return 'Cannot open file.';
  return 'The model could not run.';
}

/** The sentence shown under the heading; `ckpt` is the checkpoint the request named. */
export function userMessage(code: string, message: string, ckpt: string): string {
  if (code === 'unknown_checkpoint' || code === 'unknown_run' || code === 'not_found') {
    return `This server has no checkpoint “${ckpt}” (it may have been moved or deleted). Pick one from the list on the left.`;
  }
  // the API's sentences point developers at endpoints; a person needs the first clause only
  return message.replace(/;?\s*(GET|POST) \/api\/[^\s.;]*( lists them| returns [^.;]*)?/g, '').trim();
}
