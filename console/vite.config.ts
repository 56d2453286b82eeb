/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The control plane serves the built app under /console/ on the same origin as its
// gRPC-Web API, so the app calls `window.location.origin` and needs no CORS. In
// development (`vite`) and in `vite preview` of the built files, Vite serves the app and
// forwards the API's paths (`/vary.v1.<Service>/<Method>`) to a local control plane;
// VARY_API overrides where that is.
const api = process.env.VARY_API ?? "http://127.0.0.1:7070";
const proxy = {
  "^/vary\\.v1\\.": { target: api, changeOrigin: true },
};

export default defineConfig({
  base: "/console/",
  server: { proxy },
  preview: { proxy },
  build: {
    outDir: "dist",
    sourcemap: true,
  },
  test: {
    environment: "node",
    include: ["test/**/*.test.ts"],
  },
});
