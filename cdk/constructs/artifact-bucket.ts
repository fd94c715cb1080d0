import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { CAPTURE_PREFIX } from "#lambdas/monitoring/capture-location.ts";
import { ARTIFACTS_PREFIX } from "#lambdas/shared/object-keys.ts";

export interface ArtifactBucketProps {
  /** Receives the bucket's server access logs (under `s3-access/`). */
  readonly accessLogsBucket: s3.IBucket;
  /** Days an overwritten or deleted object version is kept. @default 30 */
  readonly noncurrentVersionDays?: number;
  /** Days before an unfinished multipart upload is aborted and its parts freed. @default 7 */
  readonly abortIncompleteUploadDays?: number;
  /** Days captured requests (`capture/`, docs/monitoring.md) are kept. @default 30 */
  readonly captureRetentionDays?: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The artifact bucket: every artifact under `artifacts/`, the drop folder under `drop/`
 * (lambdas/shared/object-keys.ts), captured requests under `capture/`, expired after
 * `captureRetentionDays` (with their noncurrent versions). Versioned, because the drop folder ingests once per object
 * version; TLS only; no public access; S3-managed encryption (presigned URLs then need no KMS grants
 * for the uploader). No CORS: uploads come from the CLI and SDKs, not from browsers.
 */
export class ArtifactBucket extends Construct {
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ArtifactBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, "Bucket", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: "s3-access/",
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(props.abortIncompleteUploadDays ?? 7) },
        { noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 30) },
        {
          id: "ExpireCapturedRequests",
          prefix: CAPTURE_PREFIX,
          expiration: Duration.days(props.captureRetentionDays ?? 30),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /**
   * Only these roles may write under `artifacts/` (an explicit deny for every other principal, the
   * account's administrators included): a principal with broad `s3:PutObject` cannot swap a
   * registered model's bytes. Versions pin the object's version id as well (docs/data-model.md).
   * Presigned uploads are signed by these roles, so users' uploads still pass.
   */
  public restrictArtifactWrites(writers: readonly iam.IRole[]): void {
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "OnlyByomWritesArtifacts",
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ["s3:PutObject"],
        resources: [this.bucket.arnForObjects(`${ARTIFACTS_PREFIX}*`)],
        conditions: { ArnNotEquals: { "aws:PrincipalArn": writers.map((role) => role.roleArn) } },
      }),
    );
  }
}
