// The dashboard: built to dist/web, served by every node at /ui/ (src/api/dashboard-routes.ts).
// Everything is bundled (the consensus core from src/raft included), so it works offline.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: fileURLToPath(new URL('../dist/web', import.meta.url)), emptyOutDir: true, sourcemap: true },
  logLevel: 'warn',
});
