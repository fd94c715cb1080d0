import * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import { Construct } from "constructs";
import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import { imageBuild } from "../image-builds.ts";
import { RUNTIME_IMAGES_DIR } from "../paths.ts";

/**
 * The CPU architecture of every image and of every task definition that runs one. x86_64, because
 * `cdk deploy` builds the images on the operator's machine, which is usually x86_64: building arm64
 * images there would need QEMU emulation and take far longer for the ML wheels.
 */
export const IMAGE_PLATFORM = ecrAssets.Platform.LINUX_AMD64;
export const TASK_CPU_ARCHITECTURE = ecs.CpuArchitecture.X86_64;

/** The distinct image folders the built-in catalog's processors and runtimes name. */
export function builtinImageFolders(): string[] {
  const folders = [...BUILTIN_CATALOG.artifactProcessors, ...BUILTIN_CATALOG.runtimes].map((e) => e.image);
  return [...new Set(folders)].sort();
}

export interface ContainerImagesProps {
  /** @default every image folder of BUILTIN_CATALOG's processors and runtimes */
  readonly folders?: readonly string[];
}

/**
 * One image asset per image folder of the built-in catalog, built by `cdk deploy` from
 * `runtime-images/` (the shared Python packages live in `runtime-images/python/`) as
 * cdk/image-builds.ts says: the one Python Dockerfile with build arguments, or `<folder>/Dockerfile`. Synth only stages the build context; Docker is needed to deploy, not to synth.
 */
export class ContainerImages extends Construct {
  /** Image folder (the catalog entry's `image`) → its asset. */
  public readonly assets: ReadonlyMap<string, ecrAssets.DockerImageAsset>;

  constructor(scope: Construct, id: string, props: ContainerImagesProps = {}) {
    super(scope, id);
    const assets = new Map<string, ecrAssets.DockerImageAsset>();
    for (const folder of props.folders ?? builtinImageFolders()) {
      const { file, buildArgs, target } = imageBuild(folder);
      assets.set(
        folder,
        new ecrAssets.DockerImageAsset(this, folder, {
          directory: RUNTIME_IMAGES_DIR,
          file,
          buildArgs: buildArgs && { ...buildArgs },
          target,
          platform: IMAGE_PLATFORM,
          displayName: `byom/${folder}`,
          exclude: [
            "**/.venv",
            "**/target",
            "**/__pycache__",
            "**/.pytest_cache",
            "**/*.pyc",
            "python/tests",
            "**/*.md",
          ],
        }),
      );
    }
    this.assets = assets;
  }

  /** The image URI of a catalog entry's `image` folder, for task definitions and the catalog. */
  imageUri(folder: string): string {
    const asset = this.assets.get(folder);
    if (!asset)
      throw new Error(`No image asset for "${folder}"; known: ${[...this.assets.keys()].join(", ")}`);
    return asset.imageUri;
  }

  /** Image folder → image URI, for every asset. */
  imageUris(): Record<string, string> {
    return Object.fromEntries([...this.assets].map(([folder, asset]) => [folder, asset.imageUri]));
  }
}
