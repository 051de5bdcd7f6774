/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies the public APIs to a running IAS (default: `ias up` on this machine).
const target = process.env.IAS_URL || "http://127.0.0.1:8000";
const proxy = {
  "/api": { target, changeOrigin: false },
  "/analytics": { target, changeOrigin: false },
};

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // the dashboards' chunk carries Recharts (~450 kB, ~130 kB gzipped), loaded on first use
    chunkSizeWarningLimit: 600,
  },
  server: { port: 5173, proxy },
  preview: { port: 4173, proxy },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
