import { defineConfig } from "vite";
import solid from "vite-plugin-solid";

/** The dashboard is served by the gateway at `/admin` (gateway/src/admin/static.ts) from `dist/`. */
export default defineConfig({
  base: "/admin/",
  plugins: [solid()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The budget script (scripts/budget.ts) checks the initial JS; the SDK and Clerk are lazy chunks.
    chunkSizeWarningLimit: 1500,
  },
});
