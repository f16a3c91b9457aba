// VS Code's ipywidgets 8 renderer bundle ships no types: its one export
declare module '@vscode/jupyter-ipywidgets8' {
  export function activate(): void;
}
