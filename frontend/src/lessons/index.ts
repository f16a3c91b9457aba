/**
 * The lesson catalogue: every `*.json` of this folder (docs/lessons.md), bundled into the page
 * (so lessons work offline and in the saved single-file page), in file-name order, validated at
 * load by lib/lesson.ts (a broken file fails `npm test`, which loads this module).
 */
import { checkCatalogue, type Lesson } from '../lib/lesson';

const files = import.meta.glob<unknown>('./*.json', { eager: true, import: 'default' });

export const LESSONS: readonly Lesson[] = checkCatalogue(
  Object.keys(files)
    .sort()
    .map((k) => files[k]),
);

export function findLesson(id: string): Lesson | null {
  return LESSONS.find((l) => l.id === id) ?? null;
}
