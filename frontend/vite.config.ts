import { defineConfig } from 'vitest/config';

// Everything is bundled (d3 included, system fonts only): the app must work with no internet.
export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: {
    port: 5173,
    proxy: { '/api': { target: 'http://127.0.0.1:8000', changeOrigin: false } },
  },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
