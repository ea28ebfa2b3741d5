import { defineConfig } from 'vite';

declare const process: { env: Record<string, string | undefined> };
const target = process.env.AIOTRACK_URL || 'http://127.0.0.1:5000';

// The server (aiotrack/http) serves index.html at / (and /<static-prefix>/) and the hashed
// assets under static-files/ with long-cache headers. base './' keeps every URL relative.
export default defineConfig({
  base: './',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: '../aiotrack/webui_dist',
    emptyOutDir: true,
    assetsDir: 'static-files',
    target: 'es2020',
    sourcemap: false,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: {
      // `npm run dev` against a local server: AIOTRACK_URL=http://127.0.0.1:5000 npm run dev
      '/ajax-api': target,
      '/get-artifact': target,
      '/model-versions/get-artifact': target,
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
} as any);
