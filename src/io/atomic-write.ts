// Atomic file replacement: readers see the old file or the complete new one, never a torn write,
// even if the process is killed or the machine loses power in the middle of a save.
//
// The recipe: write a temporary file in the target's folder (a rename is only atomic within one
// file system), fsync it (the data is on disk before the name points at it), rename it over the
// target, then fsync the folder (the rename itself is on disk). On any error the temporary file
// is removed and the old target is untouched. A writer that was killed (SIGKILL, power loss) leaves
// its temporary behind: the next save of the same target removes those of processes that are gone.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

/** The temporary name used while `target` is being written: `.<name>.<pid>.<random>.tmp` beside
 *  it, hidden, and unique per process and call so that concurrent writers never share one. */
export function temporaryPathFor(target: string): string {
  const abs = resolve(target);
  return join(dirname(abs), `.${basename(abs)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Removes the temporaries of `target` (see temporaryPathFor) left by processes that no longer run. */
export function removeStaleTemporaries(target: string): void {
  const abs = resolve(target);
  const prefix = `.${basename(abs)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(abs));
  } catch {
    return; // the folder does not exist (yet): the write below reports that
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processRuns(pid)) continue; // a live writer (or this one's threads)
    try {
      unlinkSync(join(dirname(abs), name));
    } catch {
      // removed meanwhile, or not ours to remove: leave it
    }
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Replaces `target` atomically with what `write` puts into the file descriptor it is given. */
export function writeFileAtomic(target: string, write: (fd: number) => void): void {
  const abs = resolve(target);
  removeStaleTemporaries(abs);
  const tmp = temporaryPathFor(abs);
  // 'wx': fail rather than follow or clobber anything already at the temporary name.
  const fd = openSync(tmp, 'wx', 0o666);
  let open = true;
  try {
    write(fd);
    fsyncSync(fd);
    closeSync(fd);
    open = false;
    renameSync(tmp, abs);
  } catch (e) {
    if (open) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // nothing left to remove
    }
    throw e;
  }
  syncDirectory(dirname(abs));
}

/** Writes all of `bytes` (writeSync may write less than asked; large buffers go in 1 GiB pieces). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  const CHUNK = 1 << 30;
  let done = 0;
  while (done < bytes.length) {
    const n = writeSync(fd, bytes, done, Math.min(CHUNK, bytes.length - done));
    if (n <= 0) throw new Error(`write returned ${n} after ${done} of ${bytes.length} bytes`);
    done += n;
  }
}

function syncDirectory(dir: string): void {
  // Windows cannot open or fsync a folder; there the rename is durable on its own terms.
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch (e) {
    // Some file systems refuse fsync on a folder; the file itself is already synced and renamed.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'ENOTSUP' && code !== 'EPERM') throw e;
  } finally {
    closeSync(fd);
  }
}
