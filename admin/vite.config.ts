import { defineConfig } from "vite";
import solid from "vite-plugin-solid";

/** The dashboard is served by the gateway at `/admin` (gateway/src/admin/static.ts) from `dist/`. */
export default defineConfig({
  base: "/admin/",
  plugins: [solid()],
  // Solid's production build (Vite 8's "development|production" placeholder picked solid-js/dist/dev.js,
  // which runs its dev-time checks and costs ~0.5 s of main-thread time on load).
  resolve: { conditions: ["module", "browser", "production"] },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The budget script (scripts/budget.ts) checks the initial JS; the SDK and Clerk are lazy chunks.
    chunkSizeWarningLimit: 2000,
  },
});
