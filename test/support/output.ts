/** A command's Output (src/cli/validate.ts) that keeps its lines: `out` and `err` to assert on. */
export function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}
