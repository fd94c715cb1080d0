import type { APIGatewayProxyEvent } from "aws-lambda";
import type { Caller } from "../caller.ts";
import { UnauthenticatedError } from "../errors.ts";

const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/;

/**
 * The caller identity from the API Gateway request context (IAM authorization). A role session is
 * reduced to its role ARN, so project membership is granted to roles rather than to sessions.
 */
export function callerOf(event: Pick<APIGatewayProxyEvent, "requestContext">): Caller {
  const arn = event.requestContext?.identity?.userArn;
  if (!arn) {
    throw new UnauthenticatedError(
      "The request carries no caller identity. On AWS sign it with SigV4 (IAM authorization); in local mode send 'Authorization: Bearer <token>' with the token from .byom/local.json.",
    );
  }
  const role = ASSUMED_ROLE.exec(arn);
  if (role) return { principal: `arn:${role[1]}:iam::${role[2]}:role/${role[3]}` };
  return { principal: arn };
}
