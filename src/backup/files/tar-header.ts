/** Bytes of a tar block: headers are one block, data is padded to whole blocks. */
export const BLOCK = 512;

/** What a tar header says of an entry (POSIX ustar, with a pax header in front when a field does not fit). */
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

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', dir: '5' } as const;
/** Largest size and id an 11- or 7-digit octal field holds. */
const MAX_SIZE = 0o77777777777;
const MAX_ID = 0o7777777;

/** The header block(s) of an entry: a pax extended header first when the path, link, size or ids do not fit ustar's fields. */
export function tarHeader(h: TarHeader): Buffer {
  const path = h.type === 'dir' && !h.path.endsWith('/') ? `${h.path}/` : h.path;
  const pax: Record<string, string> = {};
  const split = splitPath(path);
  if (split === undefined) pax.path = path;
  if (h.linkname !== undefined && Buffer.byteLength(h.linkname) > 100) pax.linkpath = h.linkname;
  if (h.size > MAX_SIZE) pax.size = String(h.size);
  if (h.uid > MAX_ID) pax.uid = String(h.uid);
  if (h.gid > MAX_ID) pax.gid = String(h.gid);
  const main = ustar({
    name: split?.name ?? path.slice(-100),
    prefix: split?.prefix ?? '',
    mode: h.mode,
    uid: Math.min(h.uid, MAX_ID),
    gid: Math.min(h.gid, MAX_ID),
    size: h.type === 'file' ? Math.min(h.size, MAX_SIZE) : 0,
    mtime: h.mtime,
    typeflag: TYPEFLAG[h.type],
    linkname: h.linkname === undefined ? '' : (pax.linkpath ?? h.linkname).slice(0, 100),
  });
  if (Object.keys(pax).length === 0) return main;
  const body = Buffer.from(
    Object.entries(pax)
      .map(([k, v]) => record(k, v))
      .join(''),
  );
  const head = ustar({
    name: 'PaxHeader',
    prefix: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: h.mtime,
    typeflag: 'x',
    linkname: '',
  });
  return Buffer.concat([head, body, padding(body.length), main]);
}

/** Zero bytes that fill `size` bytes of data up to a whole block. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The end of an archive: two zero blocks. */
export const END = Buffer.alloc(2 * BLOCK);

/** ustar's name (100 bytes) and prefix (155 bytes), split at a `/`; undefined when the path fits neither way. */
function splitPath(path: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  if (Buffer.byteLength(path) > 256) return undefined;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') return { name, prefix };
  }
  return undefined;
}

/** One pax record, `<length> key=value\n`, whose length counts its own digits. */
function record(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const bytes = Buffer.byteLength(rest);
  let length = bytes + String(bytes).length;
  if (String(length).length !== String(bytes).length) length = bytes + String(length).length;
  return `${length}${rest}`;
}

function ustar(f: {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(f.name, 0, 100, 'utf8');
  octal(b, 100, 8, f.mode & 0o7777);
  octal(b, 108, 8, f.uid);
  octal(b, 116, 8, f.gid);
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, Math.max(0, Math.floor(f.mtime)));
  b.write(f.typeflag, 156, 1, 'latin1');
  b.write(f.linkname, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'latin1');
  b.write(f.prefix, 345, 155, 'utf8');
  b.fill(' ', 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i] as number;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return b;
}

/** A zero-padded octal number ending in NUL, as ustar writes its numeric fields. */
function octal(b: Buffer, at: number, width: number, n: number): void {
  b.write(`${n.toString(8).padStart(width - 1, '0')}\u0000`, at, width, 'latin1');
}
