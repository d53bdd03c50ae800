import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every entry under `root`: type, permission bits, content hash or link target, and a file's mtime in seconds. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(root, path));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[path] = `link -> ${readlinkSync(join(root, path))}`;
      else if (st.isDirectory()) {
        out[path] = `dir ${mode}`;
        walk(path);
      } else {
        const hash = createHash('sha256')
          .update(readFileSync(join(root, path)))
          .digest('hex');
        out[path] = `file ${mode} ${st.size} ${hash} ${Math.floor(st.mtimeMs / 1000)}`;
      }
    }
  };
  walk('');
  return out;
}

/** A tree with modes, symlinks (also dangling), an empty folder, odd names, binary data, and things to exclude. */
export function makeTree(root: string): void {
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'private'));
  mkdirSync(join(root, 'empty'));
  mkdirSync(join(root, 'deep/a/b/c'), { recursive: true });
  mkdirSync(join(root, 'cache/x'), { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'hello\n');
  writeFileSync(join(root, 'bin/run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(root, 'bin/run.sh'), 0o755);
  writeFileSync(join(root, 'private/secret'), randomBytes(100));
  chmodSync(join(root, 'private/secret'), 0o600);
  chmodSync(join(root, 'private'), 0o700);
  writeFileSync(join(root, 'group-read'), 'g');
  chmodSync(join(root, 'group-read'), 0o640);
  writeFileSync(join(root, 'deep/a/b/c/blob.bin'), randomBytes(2 * 1024 * 1024));
  writeFileSync(join(root, 'naïve name with spaces.md'), '# ü\n');
  utimesSync(join(root, 'a.txt'), new Date('2020-02-02T02:02:02Z'), new Date('2020-02-02T02:02:02Z'));
  symlinkSync('a.txt', join(root, 'link'));
  symlinkSync('../a.txt', join(root, 'deep/up'));
  symlinkSync('nowhere', join(root, 'dangling'));
  writeFileSync(join(root, 'scratch.tmp'), 'x');
  writeFileSync(join(root, 'deep/a/old.tmp'), 'x');
  writeFileSync(join(root, 'cache/x/big'), randomBytes(1000));
}
