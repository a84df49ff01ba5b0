// The console's build: Preact through Vite, into web/dist/, which the server serves at `/`
// (src/http/routes/console.ts). Relative asset URLs are not needed: the console lives at the root.
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // No source maps in the package: the sources are in the repository.
    sourcemap: false,
  },
});
