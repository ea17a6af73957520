// Where the native addon comes from, in the napi-rs layout: a local build in native/
// (`npm run build:native`, what a clone and CI use) or a prebuilt binary in a per-platform package
// (`ferrograd-linux-x64-gnu`, ...: the optional dependencies of a published release, see npm/).
// The local build is tried first so that a developer's fresh build wins over an installed
// prebuilt one; a published release ships no binary in native/, so there the package is found.

/** The npm packages that may hold a prebuilt addon for this platform, most likely first. */
export function platformPackages(platform: string = process.platform, arch: string = process.arch): string[] {
  const base = `ferrograd-${platform}-${arch}`;
  // npm installs only the package whose os/cpu/libc match, so trying glibc then musl is enough.
  if (platform === 'linux') return [`${base}-gnu`, `${base}-musl`];
  if (platform === 'win32') return [`${base}-msvc`];
  return [base];
}

export interface BindingSearch<T> {
  /** The loaded addon, or null when no candidate loaded. */
  addon: T | null;
  /** The specifier it was loaded from. */
  from: string | null;
  /** One line per candidate that failed, for the error message. */
  errors: string[];
}

/**
 * Load the addon from the first candidate that works: the local builds (paths relative to the
 * module that owns `require`), then the platform packages.
 */
export function loadBinding<T>(
  require: NodeJS.Require,
  localCandidates: readonly string[],
  packages: readonly string[] = platformPackages(),
): BindingSearch<T> {
  const errors: string[] = [];
  for (const spec of [...localCandidates, ...packages]) {
    try {
      return { addon: require(spec) as T, from: spec, errors };
    } catch (e) {
      errors.push(`${spec}: ${String((e as Error).message).split('\n')[0]}`);
    }
  }
  return { addon: null, from: null, errors };
}
