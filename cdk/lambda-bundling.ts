import type { BuildOptions } from "esbuild";

/**
 * How every Lambda is bundled, declared once: the CDK app's NodejsFunction bundling props are built
 * from this, and `npm run bench:registry` bundles with it to measure sizes and cold loads.
 * The AWS SDK v3 is provided by the Node.js 22 Lambda runtime, so it stays external.
 */
export const LAMBDA_BUNDLING = {
  bundle: true,
  minify: true,
  platform: "node",
  target: "node22",
  format: "esm",
  mainFields: ["module", "main"],
  // Stack traces in CloudWatch name the TypeScript source (with LAMBDA_NODE_OPTIONS).
  sourcemap: true,
  external: ["@aws-sdk/*"],
  // Some dependencies still call require(); ESM bundles need it defined.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
} as const satisfies BuildOptions;

/** The NODE_OPTIONS of every Lambda; `npm run bench:registry` loads the bundles with it too. */
export const LAMBDA_NODE_OPTIONS = "--enable-source-maps";
