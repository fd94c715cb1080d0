// Minimal typings for the two emulators (and s3rver's account registry), which ship none.
declare module "dynalite" {
  import type { Server } from "node:http";

  interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}

declare module "s3rver" {
  import type { EventEmitter } from "node:events";

  interface S3rverOptions {
    address?: string;
    port?: number;
    directory?: string;
    silent?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string; configs?: string[] }>;
  }
  export default class S3rver extends EventEmitter {
    constructor(options?: S3rverOptions);
    run(): Promise<import("node:net").AddressInfo>;
    /** Creates the configured buckets (the first half of `run`). */
    configureBuckets(): Promise<void>;
    /** Listens with `server.listen(...args)` (the second half of `run`, without remembering the server). */
    listen(...args: unknown[]): Promise<import("node:http").Server>;
    /** The listening server, once `run` resolved; `close` closes it. */
    httpServer?: import("node:http").Server;
    close(): Promise<void>;
  }
}

declare module "s3rver/lib/models/account.js" {
  interface AWSAccount {
    createKeyPair(accessKeyId: string, secretAccessKey: string): void;
    revokeAccessKey(accessKeyId: string): void;
  }
  const account: { readonly DUMMY_ACCOUNT: AWSAccount };
  export default account;
}
