/**
 * The principals a membership can name: an IAM user or role ARN (a role session is granted through
 * its role, as callerOf reduces it), or a local-mode user. Written with ASCII classes only, so the
 * OpenAPI pattern means the same to any regex engine (a fuzzer's included).
 */
const IAM_NAME = "[A-Za-z0-9_+=,.@-]";
export const IAM_PRINCIPAL_PATTERN = `arn:aws[a-z-]*:iam::[0-9]{12}:(user|role)/(${IAM_NAME}+/)*${IAM_NAME}{1,128}`;
export const LOCAL_PRINCIPAL_PATTERN = "local:[A-Za-z0-9._-]{1,64}";
/** Either form, anchored: what the API accepts as a member principal. */
export const PRINCIPAL_PATTERN = `^(${IAM_PRINCIPAL_PATTERN}|${LOCAL_PRINCIPAL_PATTERN})$`;
export const PRINCIPAL = new RegExp(PRINCIPAL_PATTERN);
