import { Header, Pax } from 'tar';

/** Bytes of a tar block: headers are one block, data is padded to whole blocks. */
const BLOCK = 512;

/** What a tar header says of an entry. */
export interface TarHeader {
  /** `/`-separated, relative; a directory's gets its trailing `/` here. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds. */
  mtime: number;
  /** A symlink's target, or the earlier path a hard link shares its file with. */
  linkname?: string;
}

const TYPE = { file: 'File', hardlink: 'Link', symlink: 'SymbolicLink', dir: 'Directory' } as const;

/**
 * The header block(s) of an entry, encoded by node-tar's `Header` (POSIX ustar), with its `Pax`
 * extended header in front when a field does not fit ustar (long or non-ASCII names, large sizes).
 */
export function tarHeader(h: TarHeader): Buffer {
  const fields = {
    path: h.type === 'dir' && !h.path.endsWith('/') ? `${h.path}/` : h.path,
    type: TYPE[h.type],
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: h.type === 'file' ? h.size : 0,
    mtime: new Date(Math.floor(h.mtime) * 1000),
    ...(h.linkname === undefined ? {} : { linkpath: h.linkname }),
  };
  const header = new Header(fields);
  const needPax = header.encode();
  const block = header.block as Buffer;
  return needPax ? Buffer.concat([new Pax(fields).encode(), block]) : block;
}

/** Zero bytes that fill `size` bytes of data up to a whole block. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The end of an archive: two zero blocks. */
export const END = Buffer.alloc(2 * BLOCK);
