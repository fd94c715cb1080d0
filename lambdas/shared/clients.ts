// Both SDK clients. Prefer importing `dynamo-client.ts` or `s3-client.ts` directly: a handler then
// bundles and loads only the client it uses (cold start, docs/benchmarks.md).
export { dynamo } from "./dynamo-client.ts";
export { s3Sdk } from "./s3-client.ts";
