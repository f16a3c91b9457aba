/**
 * The page's elements that more than one module finds (the views set these ids and test ids; the
 * lessons point at them, the lesson panel keeps clear of them, the single-file page reads the
 * input). A view's own elements stay in its file.
 */
export const SELECTORS = {
  focusHeatmap: '[data-testid=focus-heatmap]',
  modelViewGrid: '#model-view .mv-grid',
  arcView: '#arc-view',
  output: '[data-testid=output]',
  insightPanel: '#insight-panel',
  textInput: '[data-testid=text-input]',
} as const;
