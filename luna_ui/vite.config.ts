/// <reference types="vitest/config" />
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// API prefixes proxied by `npm run dev` to a local `luna api` (the built app is served by the API itself).
const API = [
  "/auth", "/tenants", "/users", "/meters", "/readings", "/kpis", "/market", "/ingest", "/forecasts",
  "/admin", "/health", "/ready", "/playbook", "/documents", "/search", "/rag", "/feedback",
];

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "dist",
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: Object.fromEntries(API.map((p) => [p, { target: "http://127.0.0.1:8000", changeOrigin: false }])),
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
