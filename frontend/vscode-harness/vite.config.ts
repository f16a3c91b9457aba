import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// the VS Code renderer harness (main.ts): built by its test into a directory the Jupyter server serves
export default defineConfig({
  root: dirname(fileURLToPath(import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: { emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8000 },
});
