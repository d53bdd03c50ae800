/**
 * True when the database answered and refused the data (a constraint, a bad value or statement),
 * not when it could not be reached; looks through `cause` (a StoreError wraps the driver's error).
 */
export function refusedData(error: unknown): boolean {
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string' || code.startsWith('NINES_')) continue; // our own wrapper: look at its cause
    // PostgreSQL SQLSTATE classes 22 data exception, 23 integrity constraint, 42 syntax or access rule
    return /^(22|23|42)[0-9A-Z]{3}$/.test(code) || /^SQLITE_(CONSTRAINT|MISMATCH|RANGE|TOOBIG)/.test(code);
  }
  return false;
}
