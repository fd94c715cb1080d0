/**
 * Who is calling, as the domain sees it: an IAM principal ARN on AWS, `local:<user>` in local mode.
 * The HTTP layer (lambdas/shared/http/caller.ts) makes one from a request; domain modules take
 * this type and know nothing of API Gateway.
 */
export interface Caller {
  readonly principal: string;
}
