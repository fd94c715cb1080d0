/**
 * Container image references as `docker pull` reads them: `[registry/]repository[:tag][@digest]`.
 * A first component with a dot or a colon, or `localhost`, is a registry; otherwise the image is
 * on Docker Hub (`registry-1.docker.io`, one-word names under `library/`).
 */

export interface ImageReference {
  /** Host (and port) of the registry's distribution API. */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<64 hex>` when the reference pins one. */
  readonly digest?: string;
}

const DOCKER_HUB = "registry-1.docker.io";
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** `<account>.dkr.ecr.<region>.amazonaws.com` (also .com.cn). */
const ECR_HOST = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

export class ImageReferenceError extends Error {}

export function parseImageReference(text: string): ImageReference {
  const fail = (why: string): never => {
    throw new ImageReferenceError(`'${text}' is not an image reference: ${why}.`);
  };
  let rest = text.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail("a digest is sha256: and 64 lowercase hex digits");
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail("a tag is up to 128 letters, digits, _ . -");
  }
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  let registry = DOCKER_HUB;
  let repository = rest;
  if (first && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    repository = rest.slice(slash + 1);
  } else if (!rest.includes("/")) {
    repository = `library/${rest}`;
  }
  if (registry === "docker.io" || registry === "index.docker.io") registry = DOCKER_HUB;
  if (!REPOSITORY.test(repository)) fail("repository names are lowercase letters, digits and . _ - /");
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The account and region of an ECR registry host, or undefined for any other registry. */
export function ecrRegistryOf(registry: string): { account: string; region: string } | undefined {
  const match = ECR_HOST.exec(registry);
  return match ? { account: match[1] as string, region: match[2] as string } : undefined;
}

/** What to ask the registry for: the pinned digest, else the tag, else `latest`. */
export const manifestSelector = (ref: ImageReference) => ref.digest ?? ref.tag ?? "latest";

export const formatReference = (ref: ImageReference) =>
  `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
